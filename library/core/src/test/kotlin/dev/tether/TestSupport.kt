package dev.tether

import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import java.time.Duration as JDuration
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/** Waits (real time, bounded) for the first state matching [predicate]. */
suspend inline fun <reified T : ConnectionState> Connection.awaitState(
    timeout: Duration = 10.seconds,
    crossinline predicate: (T) -> Boolean = { true },
): T = withTimeout(timeout) { state.first { it is T && predicate(it) } as T }

val FIVE: JDuration = JDuration.ofSeconds(5)

/** A client with quick timings for real-socket tests. */
fun quickClient(url: String, block: WebSocketClientBuilder.() -> Unit = {}): WebSocketClient = webSocketClient(url) {
    logInfo = false
    reconnect {
        backoff(20, 200, 2.0)
        jitter(0.0)
    }
    closeTimeout = 2.seconds
    block()
}
