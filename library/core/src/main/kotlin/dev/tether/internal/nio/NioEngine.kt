package dev.tether.internal.nio

import dev.tether.ConnectRequest
import dev.tether.ProxyConfig
import dev.tether.TetherException
import dev.tether.TetherException.ConnectFailure
import dev.tether.engine.EngineSession
import dev.tether.engine.EngineSettings
import dev.tether.engine.WebSocketEngine
import dev.tether.internal.Redaction
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.Proxy
import java.net.StandardSocketOptions
import java.net.URI
import java.net.UnknownHostException
import java.nio.channels.SocketChannel
import javax.net.ssl.SNIHostName
import javax.net.ssl.SSLContext

/**
 * Tether's own engine: TCP on java.nio with the shared [EventLoopGroup], TLS through the JDK's SSLEngine, the upgrade
 * written and checked by [Upgrade], frames by [FrameParser] and [FrameEncoder]. Holds nothing between attempts.
 */
internal class NioEngine(
    private val settings: EngineSettings,
    private val group: EventLoopGroup = EventLoopGroup.shared,
) : WebSocketEngine {

    override suspend fun open(request: ConnectRequest, scope: CoroutineScope): EngineSession {
        val uri = URI(request.url)
        val url = Redaction.url(request.url)
        val secure = uri.scheme.equals("wss", ignoreCase = true)
        val host = uri.host.removePrefix("[").removeSuffix("]")
        val port = if (uri.port == -1) (if (secure) 443 else 80) else uri.port
        proxyFor(uri, host, port, secure)?.let { proxy ->
            val channel = ProxyTunnel.open(proxy, host, port, url)
            return attempt(request, uri, url, host, InetSocketAddress.createUnresolved(host, port), secure, channel)
        }
        val addresses = try {
            // a literal needs no lookup; a name is resolved on Dispatchers.IO (the JDK's resolver blocks)
            if (isIpLiteral(host)) InetAddress.getAllByName(host) else withContext(Dispatchers.IO) { InetAddress.getAllByName(host) }
        } catch (e: UnknownHostException) {
            throw TetherException.ConnectFailed(url, ConnectFailure.DNS, e)
        }
        var last: TetherException.ConnectFailed? = null
        for (address in addresses) {
            try {
                return attempt(request, uri, url, host, InetSocketAddress(address, port), secure)
            } catch (e: TetherException.ConnectFailed) {
                if (e.kind != ConnectFailure.REFUSED) throw e
                last = e
            }
        }
        throw last ?: TetherException.ConnectFailed(url, ConnectFailure.DNS)
    }

    private suspend fun attempt(
        request: ConnectRequest,
        uri: URI,
        url: String,
        host: String,
        address: InetSocketAddress,
        secure: Boolean,
        tunnel: SocketChannel? = null,
    ): EngineSession {
        val tls = if (!secure) {
            null
        } else {
            try {
                TlsLayer(sslEngine(host, address.port))
            } catch (e: Exception) {
                tunnel?.close()
                throw TetherException.ConnectFailed(url, ConnectFailure.TLS, e)
            }
        }
        val channel = tunnel ?: SocketChannel.open()
        val loop = group.acquire()
        val session = NioSession(loop, settings, Upgrade(request, uri, settings.userAgent, settings.compression), url)
        try {
            channel.configureBlocking(false)
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true)
        } catch (e: Exception) {
            channel.close()
            group.release(loop)
            throw ConnectFailures.of(url, e)
        }
        val socket = NioSocket(loop, channel, tls, session, url)
        session.socket = socket
        if (tunnel != null) socket.adopt() else socket.connect(address)
        try {
            when (val outcome = session.outcome.await()) {
                is NioSession.Outcome.Open -> return session
                is NioSession.Outcome.Refused -> {
                    withTimeoutOrNull(SNIPPET_WAIT_MS) { session.bodyDone.await() }
                    throw withContext(loop) { session.refusal(outcome.head) }
                }
            }
        } catch (e: Throwable) {
            session.abort()
            if (e is CancellationException || e is TetherException) throw e
            throw TetherException.ConnectFailed(url, ConnectFailure.OTHER, e)
        }
    }

    /** The proxy for this attempt: the configured one, else the selector's choice (DIRECT: none). */
    private fun proxyFor(uri: URI, host: String, port: Int, secure: Boolean): ProxyConfig? {
        settings.proxy?.let { return it }
        val selector = settings.proxySelector ?: return null
        // selectors know http/https/socket URIs, not ws/wss
        val asked = URI(if (secure) "https" else "http", null, host, port, null, null, null)
        val chosen = selector.select(asked).firstOrNull { it.type() != Proxy.Type.DIRECT } ?: return null
        val at = chosen.address() as? InetSocketAddress ?: return null
        return when (chosen.type()) {
            Proxy.Type.HTTP -> ProxyConfig.http(at.hostString, at.port)
            Proxy.Type.SOCKS -> ProxyConfig.socks5(at.hostString, at.port)
            else -> null
        }
    }

    private fun sslEngine(host: String, port: Int) = (settings.sslContext ?: SSLContext.getDefault())
        .createSSLEngine(host, port).apply {
            useClientMode = true
            val params = sslParameters
            params.endpointIdentificationAlgorithm = "HTTPS"
            if (!isIpLiteral(host)) params.serverNames = listOf(SNIHostName(host))
            // the context's own choice, without anything older than TLS 1.2
            params.protocols = enabledProtocols.filter { it == "TLSv1.3" || it == "TLSv1.2" }.toTypedArray()
            require(params.protocols.isNotEmpty()) { "the SSLContext enables neither TLS 1.3 nor TLS 1.2" }
            sslParameters = params
        }

    override fun close() = Unit

    private companion object {
        const val SNIPPET_WAIT_MS = 1000L

        fun isIpLiteral(host: String): Boolean =
            host.contains(':') || host.all { it.isDigit() || it == '.' } && host.count { it == '.' } == 3
    }
}
