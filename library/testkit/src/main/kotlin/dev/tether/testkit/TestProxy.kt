package dev.tether.testkit

import dev.tether.testkit.internal.DaemonThreads
import java.io.DataInputStream
import java.io.IOException
import java.io.InputStream
import java.io.OutputStream
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.net.SocketException
import java.util.Base64

/**
 * A tiny proxy on loopback for tests: HTTP `CONNECT` and SOCKS5 (RFC 1928/1929) on the same port, optionally
 * requiring credentials, then a byte pump both ways. It records each tunnel's target and what credentials came;
 * [refuseWith] makes it answer every CONNECT with an error status. Closing it ends every tunnel.
 */
public class TestProxy @JvmOverloads constructor(
    /** Credentials it requires (`user` to `password`), or null to require none. */
    private val credentials: Pair<String, String>? = null,
) : AutoCloseable {
    private val threads = DaemonThreads()
    private var listener: ServerSocket? = null
    private val sockets = java.util.concurrent.CopyOnWriteArrayList<Socket>()

    /** The targets of the tunnels opened so far (`host:port`), in order. */
    public val tunnels: Recorder<String> = Recorder()

    /** Every `Proxy-Authorization` header value or SOCKS5 `user:password` that came, in order. */
    public val credentialsSeen: Recorder<String> = Recorder()

    /** When set, every CONNECT is answered with this HTTP status and closed (SOCKS5: reply 2, not allowed). */
    @Volatile
    public var refuseWith: Int? = null

    /** The port it listens on (after [start]). */
    public val port: Int get() = listener?.localPort ?: error("start() the proxy first")

    /** Starts on a free loopback port. */
    public fun start(): TestProxy {
        val server = bindLoopback(0)
        listener = server
        threads.start("testkit-proxy-accept") {
            while (true) {
                val client = try {
                    server.accept()
                } catch (e: IOException) {
                    return@start
                }
                sockets += client
                threads.start("testkit-proxy-${client.port}") { serve(client) }
            }
        }
        return this
    }

    private fun serve(client: Socket) {
        try {
            val input = DataInputStream(client.getInputStream())
            val out = client.getOutputStream()
            val first = input.read()
            val target = when (first) {
                -1 -> return
                5 -> socks5(input, out)
                else -> http(first, input, out)
            } ?: run {
                client.close()
                return
            }
            val upstream = Socket(InetAddress.getLoopbackAddress(), target.second)
            sockets += upstream
            threads.start("testkit-proxy-up-${client.port}") { pump(upstream.getInputStream(), out, client, upstream) }
            pump(input, upstream.getOutputStream(), client, upstream)
        } catch (e: IOException) {
            client.close()
        }
    }

    /** An HTTP CONNECT; null (answered with an error) if refused. */
    private fun http(first: Int, input: InputStream, out: OutputStream): Pair<String, Int>? {
        val head = StringBuilder().append(first.toChar())
        while (!head.endsWith("\r\n\r\n")) {
            val b = input.read()
            if (b < 0) return null
            head.append(b.toChar())
        }
        val lines = head.split("\r\n")
        val parts = lines[0].split(' ')
        if (parts.getOrNull(0) != "CONNECT") {
            out.write("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n".toByteArray())
            return null
        }
        val auth = lines.firstOrNull { it.lowercase().startsWith("proxy-authorization:") }?.substringAfter(':')?.trim()
        auth?.let { credentialsSeen.record(it) }
        refuseWith?.let {
            out.write("HTTP/1.1 $it Refused\r\nContent-Length: 0\r\n\r\n".toByteArray())
            return null
        }
        if (credentials != null) {
            val expected = "Basic " + Base64.getEncoder().encodeToString("${credentials.first}:${credentials.second}".toByteArray())
            if (auth != expected) {
                out.write("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n".toByteArray())
                return null
            }
        }
        val authority = parts[1]
        tunnels.record(authority)
        out.write("HTTP/1.1 200 Connection established\r\n\r\n".toByteArray())
        out.flush()
        return authority.substringBeforeLast(':') to authority.substringAfterLast(':').toInt()
    }

    /** A SOCKS5 connect (the version byte already read); null (answered) if refused. */
    private fun socks5(input: DataInputStream, out: OutputStream): Pair<String, Int>? {
        val methods = ByteArray(input.readUnsignedByte()).also { input.readFully(it) }
        val want = if (credentials != null) 2 else 0
        if (want.toByte() !in methods) {
            out.write(byteArrayOf(5, 0xff.toByte()))
            return null
        }
        out.write(byteArrayOf(5, want.toByte()))
        if (want == 2) {
            input.readUnsignedByte() // sub-negotiation version 1
            val user = String(ByteArray(input.readUnsignedByte()).also { input.readFully(it) })
            val pass = String(ByteArray(input.readUnsignedByte()).also { input.readFully(it) })
            credentialsSeen.record("$user:$pass")
            if (user to pass != credentials) {
                out.write(byteArrayOf(1, 1))
                return null
            }
            out.write(byteArrayOf(1, 0))
        }
        input.readUnsignedByte() // 5
        input.readUnsignedByte() // 1: connect
        input.readUnsignedByte() // reserved
        val host = when (input.readUnsignedByte()) {
            1 -> InetAddress.getByAddress(ByteArray(4).also { input.readFully(it) }).hostAddress
            4 -> InetAddress.getByAddress(ByteArray(16).also { input.readFully(it) }).hostAddress
            else -> String(ByteArray(input.readUnsignedByte()).also { input.readFully(it) })
        }
        val port = input.readUnsignedShort()
        if (refuseWith != null) {
            out.write(byteArrayOf(5, 2, 0, 1, 0, 0, 0, 0, 0, 0))
            return null
        }
        tunnels.record("$host:$port")
        out.write(byteArrayOf(5, 0, 0, 1, 127, 0, 0, 1, 0, 0))
        out.flush()
        return host to port
    }

    private fun pump(from: InputStream, to: OutputStream, a: Socket, b: Socket) {
        val buf = ByteArray(16 * 1024)
        try {
            while (true) {
                val n = from.read(buf)
                if (n < 0) break
                to.write(buf, 0, n)
                to.flush()
            }
        } catch (e: SocketException) {
            // one side went away
        } catch (e: IOException) {
            // one side went away
        } finally {
            a.close()
            b.close()
        }
    }

    /** Stops listening and ends every tunnel and thread. Idempotent. */
    override fun close() {
        listener?.close()
        sockets.forEach { it.close() }
        threads.stopAll()
    }
}
