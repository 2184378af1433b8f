package dev.tether.internal.nio

import dev.tether.ProxyConfig
import dev.tether.TetherException
import dev.tether.TetherException.ConnectFailure
import dev.tether.engine.TetherEngineApi
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runInterruptible
import java.io.IOException
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.StandardSocketOptions
import java.nio.ByteBuffer
import java.nio.channels.SocketChannel
import java.util.Base64

/**
 * A TCP connection to the target through a proxy: HTTP `CONNECT` or SOCKS5 (RFC 1928, with RFC 1929 credentials).
 * Done in blocking mode on `Dispatchers.IO` (interruptible, so the connect timeout ends it), before the channel goes
 * to the event loop; the target's name is resolved by the proxy. Credentials go to the proxy only and never into a
 * message.
 */
internal object ProxyTunnel {
    private const val MAX_HEAD = 8192

    suspend fun open(proxy: ProxyConfig, host: String, port: Int, url: String): SocketChannel = runInterruptible(Dispatchers.IO) {
        val channel = SocketChannel.open()
        try {
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true)
            try {
                channel.connect(InetSocketAddress(InetAddress.getByName(proxy.host), proxy.port))
            } catch (e: IOException) {
                throw ConnectFailures.of(url, IOException("the proxy ${proxy.host}:${proxy.port} could not be reached: $e", e))
            }
            when (proxy.type) {
                ProxyConfig.Type.HTTP -> httpConnect(channel, proxy, host, port, url)
                ProxyConfig.Type.SOCKS5 -> socks5(channel, proxy, host, port, url)
            }
            channel
        } catch (e: Throwable) {
            channel.close()
            throw e
        }
    }

    @OptIn(TetherEngineApi::class)
    private fun refused(url: String, status: Int, what: String): TetherException.ConnectFailed =
        TetherException.ConnectFailed(url, ConnectFailure.PROXY, IOException(what), proxyStatus = status)

    private fun authority(host: String, port: Int) = if (host.contains(':')) "[$host]:$port" else "$host:$port"

    private fun httpConnect(channel: SocketChannel, proxy: ProxyConfig, host: String, port: Int, url: String) {
        val target = authority(host, port)
        val request = StringBuilder("CONNECT $target HTTP/1.1\r\nHost: $target\r\n")
        if (proxy.username != null) {
            val token = Base64.getEncoder().encodeToString("${proxy.username}:${proxy.password}".toByteArray(Charsets.UTF_8))
            request.append("Proxy-Authorization: Basic ").append(token).append("\r\n")
        }
        writeAll(channel, request.append("\r\n").toString().toByteArray(Charsets.ISO_8859_1))
        // the head only, byte by byte: what follows it belongs to the tunnel
        val head = StringBuilder()
        val one = ByteBuffer.allocate(1)
        while (!head.endsWith("\r\n\r\n")) {
            if (head.length >= MAX_HEAD) throw refused(url, 0, "the proxy's answer to CONNECT is longer than $MAX_HEAD bytes")
            one.clear()
            if (channel.read(one) < 0) throw refused(url, 0, "the proxy closed the connection instead of answering CONNECT")
            head.append((one.get(0).toInt() and 0xff).toChar())
        }
        val statusLine = head.substring(0, head.indexOf("\r\n"))
        val status = statusLine.split(' ').getOrNull(1)?.toIntOrNull()
            ?: throw refused(url, 0, "the proxy's answer to CONNECT is not HTTP: ${statusLine.take(80)}")
        if (status !in 200..299) throw refused(url, status, "the proxy refused CONNECT: ${statusLine.take(80)}")
    }

    private fun socks5(channel: SocketChannel, proxy: ProxyConfig, host: String, port: Int, url: String) {
        val username = proxy.username
        val password = proxy.password
        val withAuth = username != null && password != null
        writeAll(channel, if (withAuth) byteArrayOf(5, 2, 0, 2) else byteArrayOf(5, 1, 0))
        val choice = readExactly(channel, 2, url)
        if (choice[0].toInt() != 5) throw refused(url, 0, "the proxy does not speak SOCKS5")
        when (choice[1].toInt() and 0xff) {
            0 -> Unit
            2 -> {
                if (username == null || password == null) throw refused(url, CREDENTIALS_REFUSED, "the SOCKS5 proxy wants credentials")
                val user = username.toByteArray(Charsets.UTF_8)
                val pass = password.toByteArray(Charsets.UTF_8)
                writeAll(channel, byteArrayOf(1, user.size.toByte()) + user + byteArrayOf(pass.size.toByte()) + pass)
                val answer = readExactly(channel, 2, url)
                if (answer[1].toInt() != 0) throw refused(url, CREDENTIALS_REFUSED, "the SOCKS5 proxy refused the credentials (status ${answer[1].toInt() and 0xff})")
            }
            else -> throw refused(url, CREDENTIALS_REFUSED, "the SOCKS5 proxy accepts none of our authentication methods")
        }
        val address = literal(host)
        val target = when {
            address == null -> host.toByteArray(Charsets.UTF_8).let { byteArrayOf(3, it.size.toByte()) + it }
            address.size == 4 -> byteArrayOf(1) + address
            else -> byteArrayOf(4) + address
        }
        writeAll(channel, byteArrayOf(5, 1, 0) + target + byteArrayOf((port shr 8).toByte(), port.toByte()))
        val reply = readExactly(channel, 4, url)
        val code = reply[1].toInt() and 0xff
        if (code != 0) throw refused(url, code, "the SOCKS5 proxy could not connect (reply $code)")
        val rest = when (reply[3].toInt()) {
            1 -> 4
            4 -> 16
            3 -> readExactly(channel, 1, url)[0].toInt() and 0xff
            else -> throw refused(url, 0, "the SOCKS5 proxy's reply has an unknown address type")
        }
        readExactly(channel, rest + 2, url) // the bound address and port: not needed
    }

    /** The address bytes of an IP literal, or null for a name (which the proxy resolves). */
    private fun literal(host: String): ByteArray? =
        if (host.contains(':') || host.all { it.isDigit() || it == '.' } && host.count { it == '.' } == 3) {
            InetAddress.getByName(host).address
        } else {
            null
        }

    private fun writeAll(channel: SocketChannel, bytes: ByteArray) {
        val buf = ByteBuffer.wrap(bytes)
        while (buf.hasRemaining()) channel.write(buf)
    }

    private fun readExactly(channel: SocketChannel, n: Int, url: String): ByteArray {
        val buf = ByteBuffer.allocate(n)
        while (buf.hasRemaining()) {
            if (channel.read(buf) < 0) throw refused(url, 0, "the proxy closed the connection during the SOCKS5 handshake")
        }
        return buf.array()
    }
}

/**
 * The `proxyStatus` of a SOCKS5 proxy that wants credentials we lack or refuses ours: HTTP's 407, so that one status
 * means "credentials" for both kinds of proxy (the SOCKS5 authentication status byte carries no more than failure).
 */
private const val CREDENTIALS_REFUSED = 407
