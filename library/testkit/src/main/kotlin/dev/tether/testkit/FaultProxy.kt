package dev.tether.testkit

import dev.tether.testkit.internal.DaemonThreads
import java.io.IOException
import java.io.InputStream
import java.io.OutputStream
import java.net.ServerSocket
import java.net.Socket
import java.net.SocketException
import java.time.Duration
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.concurrent.withLock

/**
 * A fault-injecting TCP proxy on loopback between any client and any server, for the failures a real network
 * produces: [cutAll] resets every connection now; [blackhole] keeps sockets open but lets no byte through (the dead
 * link only keepalive can find); [latency] delays every chunk; [bandwidth] limits throughput; [refuseNew] resets new
 * connections at once; [heal] lifts every fault. Faults apply to open connections too and can change at any time.
 *
 * ```java
 * try (FaultProxy proxy = new FaultProxy("127.0.0.1", server.getPort()).start()) {
 *     client connects to proxy.url("/ws"); … proxy.blackhole(); … proxy.heal();
 * }
 * ```
 * Thread-safe; plain blocking sockets and daemon threads, all ended by [close].
 */
public class FaultProxy @JvmOverloads constructor(
    private val targetHost: String = "127.0.0.1",
    private val targetPort: Int,
) : AutoCloseable {
    private var listener: ServerSocket? = null
    private val links = CopyOnWriteArrayList<Link>()
    private val threads = DaemonThreads()
    private val gate = java.util.concurrent.locks.ReentrantLock()
    private val unblocked = gate.newCondition()

    @Volatile
    private var blackholed = false

    @Volatile
    private var refusing = false

    @Volatile
    private var latencyMillis = 0L

    @Volatile
    private var bytesPerSecond = 0L

    /** The port clients connect to. */
    public var port: Int = 0
        private set

    /** How many connections were accepted so far (refused ones included). */
    @Volatile
    public var acceptedCount: Int = 0
        private set

    /** Connections currently open through the proxy. */
    public val openConnections: Int get() = links.count { !it.closed }

    /** `ws://127.0.0.1:port` + [path]. */
    @JvmOverloads
    public fun url(path: String = "/"): String = "ws://127.0.0.1:$port$path"

    /** Starts listening on a free loopback port. */
    public fun start(): FaultProxy {
        check(listener == null) { "the proxy is already started" }
        val socket = bindLoopback(0)
        port = socket.localPort
        listener = socket
        threads.start("testkit-proxy-$port-accept") { acceptLoop(socket) }
        return this
    }

    /** Resets every open connection now (RST to both sides). */
    public fun cutAll() {
        links.forEach { it.reset() }
    }

    /** Lets no byte through in either direction, on open and new connections, until [heal]. Sockets stay open. */
    public fun blackhole() {
        blackholed = true
    }

    /** Delays every chunk by [delay] in each direction (zero: none). */
    public fun latency(delay: Duration) {
        require(!delay.isNegative) { "latency must not be negative, was $delay" }
        latencyMillis = delay.toMillis()
    }

    /** Limits each direction of each connection to [bytesPerSecond] (0: unlimited). */
    public fun bandwidth(bytesPerSecond: Long) {
        require(bytesPerSecond >= 0) { "bandwidth must not be negative, was $bytesPerSecond" }
        this.bytesPerSecond = bytesPerSecond
    }

    /** Resets new connections at once while [refuse] is true. */
    public fun refuseNew(refuse: Boolean) {
        refusing = refuse
    }

    /** Lifts every fault: bytes held by the blackhole flow on, latency and bandwidth limits end, new connections pass. */
    public fun heal() {
        refusing = false
        latencyMillis = 0
        bytesPerSecond = 0
        gate.withLock {
            blackholed = false
            unblocked.signalAll()
        }
    }

    /** Stops listening, resets every connection and ends every thread. Idempotent. */
    override fun close() {
        listener?.close()
        cutAll()
        heal()
        threads.stopAll()
    }

    private fun acceptLoop(socket: ServerSocket) {
        while (!socket.isClosed) {
            val client = try {
                socket.accept()
            } catch (e: IOException) {
                return
            }
            acceptedCount++
            if (refusing) {
                resetQuietly(client)
                continue
            }
            val upstream = try {
                Socket(targetHost, targetPort)
            } catch (e: IOException) {
                resetQuietly(client)
                continue
            }
            client.tcpNoDelay = true
            upstream.tcpNoDelay = true
            val link = Link(client, upstream)
            links.add(link)
            links.removeIf { it.closed }
            // the streams are taken here: a link cut (or the proxy stopped) before its threads start has none, and a
            // thread asking for them then would die with "Socket is closed" printed to the test's output
            val (up, down) = try {
                (client.getInputStream() to upstream.getOutputStream()) to (upstream.getInputStream() to client.getOutputStream())
            } catch (e: IOException) {
                link.close()
                continue
            }
            threads.start("testkit-proxy-$port-up") { pump(link, up.first, up.second) }
            threads.start("testkit-proxy-$port-down") { pump(link, down.first, down.second) }
        }
    }

    private fun pump(link: Link, from: InputStream, to: OutputStream) {
        val buf = ByteArray(16 * 1024)
        try {
            while (true) {
                val n = from.read(buf)
                if (n < 0) break
                gate.withLock { while (blackholed) unblocked.await() }
                val delay = latencyMillis
                if (delay > 0) Thread.sleep(delay)
                val bps = bytesPerSecond
                if (bps > 0) {
                    var off = 0
                    while (off < n) {
                        val chunk = minOf(n - off, maxOf(1, (bps / 20).toInt()))
                        to.write(buf, off, chunk)
                        to.flush()
                        off += chunk
                        Thread.sleep(chunk * 1000L / bps)
                    }
                } else {
                    to.write(buf, 0, n)
                    to.flush()
                }
            }
            link.close()
        } catch (e: IOException) {
            link.close()
        } catch (e: InterruptedException) {
            link.close()
        }
    }

    private class Link(val a: Socket, val b: Socket) {
        @Volatile
        var closed = false

        fun reset() {
            resetQuietly(a)
            resetQuietly(b)
            closed = true
        }

        fun close() {
            runCatching { a.close() }
            runCatching { b.close() }
            closed = true
        }
    }

    private companion object {
        fun resetQuietly(s: Socket) {
            try {
                s.setSoLinger(true, 0)
            } catch (e: SocketException) {
                // already closed
            }
            runCatching { s.close() }
        }
    }
}
