package dev.tether.ktor.internal

import dev.tether.ConnectRequest
import dev.tether.Handshake
import dev.tether.TetherException
import dev.tether.TetherException.ConnectFailure
import dev.tether.engine.EngineSession
import dev.tether.engine.EngineSettings
import dev.tether.engine.EngineSupport
import dev.tether.engine.WebSocketEngine
import io.ktor.client.HttpClient
import io.ktor.client.call.body
import io.ktor.client.plugins.websocket.ClientWebSocketSession
import io.ktor.client.plugins.websocket.WebSockets
import io.ktor.client.request.header
import io.ktor.client.request.prepareRequest
import io.ktor.client.request.url
import io.ktor.client.statement.HttpResponse
import io.ktor.http.HttpMethod
import io.ktor.http.HttpStatusCode
import io.ktor.utils.io.InternalAPI
import io.ktor.utils.io.readAvailable
import io.ktor.websocket.ChannelOverflow
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeoutOrNull
import java.net.ConnectException
import java.net.UnknownHostException
import java.nio.channels.UnresolvedAddressException
import javax.net.ssl.SSLException

/** One Tether connection's view of Ktor: a derived [HttpClient] with the WebSockets plugin, closed with it. */
internal class KtorWebSocketEngine(base: HttpClient, private val settings: EngineSettings) : WebSocketEngine {
    private val client = base.config {
        expectSuccess = false
        followRedirects = false
        install(WebSockets) {
            maxFrameSize = settings.maxFrameSize
            channels {
                incoming = bounded(INCOMING_CAPACITY, ChannelOverflow.SUSPEND)
                outgoing = bounded(OUTGOING_CAPACITY, ChannelOverflow.SUSPEND)
            }
        }
    }

    override suspend fun open(request: ConnectRequest, scope: CoroutineScope): EngineSession {
        val redacted = EngineSupport.redactUrl(request.url)
        val result = CompletableDeferred<EngineSession>()
        val holder = scope.launch(CoroutineName("tether-transport")) {
            try {
                client.prepareRequest {
                    method = HttpMethod.Get
                    url(request.url)
                    request.headers.forEach { (k, v) -> header(k, v) }
                    settings.userAgent?.let { ua -> if (request.headers.keys.none { it.equals("User-Agent", true) }) header("User-Agent", ua) }
                    if (request.subprotocols.isNotEmpty()) {
                        header("Sec-WebSocket-Protocol", request.subprotocols.joinToString(", "))
                    }
                }.execute { response ->
                    if (response.status != HttpStatusCode.SwitchingProtocols) {
                        result.completeExceptionally(handshakeFailed(redacted, response))
                        return@execute
                    }
                    val headers = response.headers.entries().associate { (k, v) -> k.lowercase() to v }
                    val selected = headers["sec-websocket-protocol"]?.firstOrNull()?.trim()
                    if (selected != null && selected !in request.subprotocols) {
                        result.completeExceptionally(
                            TetherException.HandshakeFailed(
                                redacted, 101, headers, "", null,
                                "server selected subprotocol \"$selected\", which was not offered",
                            ),
                        )
                        return@execute
                    }
                    val session = response.body<ClientWebSocketSession>()

                    val done = CompletableDeferred<Unit>()
                    val ours = KtorSession(session, Handshake(redacted, 101, headers, selected), done)
                    result.complete(ours)
                    done.await()
                }
            } catch (e: CancellationException) {
                result.completeExceptionally(e)
                throw e
            } catch (e: Throwable) {
                result.completeExceptionally(mapConnectFailure(redacted, e))
            }
        }
        try {
            return result.await()
        } catch (e: Throwable) {
            holder.cancel()
            throw e
        }
    }

    override fun close() {
        client.close()
    }

    private suspend fun handshakeFailed(url: String, response: HttpResponse): TetherException.HandshakeFailed {
        val headers = response.headers.entries().associate { (k, v) -> k.lowercase() to v }
        val snippet = withTimeoutOrNull(SNIPPET_TIMEOUT_MS) {
            // rawContent, not bodyAsChannel(): the body pipeline would let the WebSockets plugin throw first.
            @OptIn(InternalAPI::class)
            val channel = response.rawContent
            val buf = ByteArray(SNIPPET_BYTES)
            var n = 0
            while (n < buf.size) {
                val r = channel.readAvailable(buf, n, buf.size - n)
                if (r <= 0) break
                n += r
            }
            String(buf, 0, n, Charsets.UTF_8)
        } ?: ""
        return EngineSupport.refused(url, response.status.value, headers, snippet)
    }

    private fun mapConnectFailure(url: String, e: Throwable): TetherException {
        if (e is TetherException) return e
        val kind = generateSequence(e) { it.cause }.firstNotNullOfOrNull { c ->
            when (c) {
                is ConnectException -> ConnectFailure.REFUSED
                is UnresolvedAddressException, is UnknownHostException -> ConnectFailure.DNS
                is TimeoutCancellationException, is java.net.SocketTimeoutException -> ConnectFailure.TIMEOUT
                is SSLException -> ConnectFailure.TLS
                else -> when {
                    c.javaClass.simpleName.contains("Timeout") -> ConnectFailure.TIMEOUT
                    c.javaClass.simpleName.contains("Tls") -> ConnectFailure.TLS
                    else -> null
                }
            }
        } ?: ConnectFailure.OTHER
        return TetherException.ConnectFailed(url, kind, e)
    }

    private companion object {
        const val INCOMING_CAPACITY = 8

        const val OUTGOING_CAPACITY = 64
        const val SNIPPET_BYTES = 1024
        const val SNIPPET_TIMEOUT_MS = 1000L
    }
}
