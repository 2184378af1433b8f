package dev.tether.internal

import kotlinx.coroutines.CoroutineName

/**
 * The names of a connection's coroutines (docs/architecture.md, "Threads"). A `CoroutineName` is immutable, so every
 * connection shares these instances instead of allocating one per coroutine it starts.
 */
internal object CoroutineNames {
    val CONNECTION = CoroutineName("tether-connection")
    val CONNECT = CoroutineName("tether-connect")
    val READER = CoroutineName("tether-reader")
    val WRITER = CoroutineName("tether-writer")
    val KEEPALIVE = CoroutineName("tether-keepalive")
    val IDLE = CoroutineName("tether-idle")
    val DELIVERY = CoroutineName("tether-delivery")
    val OVERFLOW = CoroutineName("tether-overflow")
    val EXPIRY = CoroutineName("tether-expiry")
    val GATE = CoroutineName("tether-gate")
    val HOOKS = CoroutineName("tether-hooks")
    val WATCHER = CoroutineName("tether-watcher")
}
