package dev.tether.testkit

import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.util.concurrent.CopyOnWriteArrayList

/** A listening socket on the loopback address; port 0 picks a free one. Reusable right after a close. */
@JvmSynthetic
internal fun bindLoopback(port: Int): ServerSocket = ServerSocket().apply {
    reuseAddress = true
    bind(InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50)
}
