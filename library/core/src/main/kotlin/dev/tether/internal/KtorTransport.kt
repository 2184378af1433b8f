package dev.tether.internal

import dev.tether.ConnectRequest
import dev.tether.Handshake
import dev.tether.TetherException
import dev.tether.TetherException.ConnectFailure
import io.ktor.client.HttpClient
import io.ktor.client.call.body
import io.ktor.client.engine.cio.CIO
import io.ktor.client.plugins.websocket.ClientWebSocketSession
import io.ktor.client.plugins.websocket.WebSockets
import io.ktor.client.request.header
import io.ktor.client.request.prepareRequest
import io.ktor.client.request.url
import io.ktor.client.statement.HttpResponse
import io.ktor.http.HttpMethod
import io.ktor.http.HttpStatusCode
import io.ktor.network.tls.TlsException
import io.ktor.utils.io.InternalAPI
import io.ktor.utils.io.readAvailable
import io.ktor.websocket.ChannelOverflow
import io.ktor.websocket.Frame as KFrame
import io.ktor.websocket.FrameTooBigException
import io.ktor.websocket.FrameType
import io.ktor.websocket.ProtocolViolationException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.channels.ClosedReceiveChannelException
import kotlinx.coroutines.channels.ClosedSendChannelException
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeoutOrNull
import java.net.ConnectException
import java.net.UnknownHostException
import java.nio.channels.UnresolvedAddressException
import java.security.cert.X509Certificate
import javax.net.ssl.SSLException
import javax.net.ssl.X509TrustManager
import kotlin.time.Duration

/** Limits the engine enforces for us (frame size) and what it needs to know (timeouts, TLS). */
internal class TransportSettings(
    val maxFrameSize: Long,
    val connectTimeout: Duration,
    val verifyTls: Boolean,
)

/**
 * The transport on Ktor CIO's raw WebSocket session: Ktor does TCP, TLS, the HTTP upgrade, framing and masking,
 * and hands frames over unreassembled with their RSV bits. One [HttpClient] per Tether connection, closed with it.
 */
internal class KtorTransport(private val settings: TransportSettings) : Transport {
    private val client = HttpClient(CIO) {
        expectSuccess = false
        followRedirects = false
        engine {
            requestTimeout = 0
            endpoint.connectTimeout = settings.connectTimeout.inWholeMilliseconds
            endpoint.connectAttempts = 1
            if (!settings.verifyTls) {
                https { trustManager = TrustAll }
            }
        }
        install(WebSockets) {
            maxFrameSize = settings.maxFrameSize
            channels {
                incoming = bounded(INCOMING_CAPACITY, ChannelOverflow.SUSPEND)
                outgoing = bounded(OUTGOING_CAPACITY, ChannelOverflow.SUSPEND)
            }
        }
    }

    override suspend fun open(request: ConnectRequest, scope: CoroutineScope): TransportSession {
        val redacted = Redaction.url(request.url)
        val result = CompletableDeferred<TransportSession>()
        val holder = scope.launch(CoroutineName("tether-transport")) {
            try {
                client.prepareRequest {
                    method = HttpMethod.Get
                    url(request.url)
                    request.headers.forEach { (k, v) -> header(k, v) }
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
        return TetherException.HandshakeFailed(
            url, response.status.value, headers, snippet, RetryAfter.parse(headers["retry-after"]?.firstOrNull()),
        )
    }

    private fun mapConnectFailure(url: String, e: Throwable): TetherException {
        if (e is TetherException) return e
        val kind = generateSequence(e) { it.cause }.firstNotNullOfOrNull { c ->
            when (c) {
                is ConnectException -> ConnectFailure.REFUSED
                is UnresolvedAddressException, is UnknownHostException -> ConnectFailure.DNS
                is TimeoutCancellationException, is java.net.SocketTimeoutException -> ConnectFailure.TIMEOUT
                is SSLException, is TlsException -> ConnectFailure.TLS
                else -> if (c.javaClass.simpleName.contains("Timeout")) ConnectFailure.TIMEOUT else null
            }
        } ?: ConnectFailure.OTHER
        return TetherException.ConnectFailed(url, kind, e)
    }

    private object TrustAll : X509TrustManager {
        override fun checkClientTrusted(chain: Array<out X509Certificate>?, authType: String?) = Unit
        override fun checkServerTrusted(chain: Array<out X509Certificate>?, authType: String?) = Unit
        override fun getAcceptedIssuers(): Array<X509Certificate> = emptyArray()
    }

    private companion object {
        const val INCOMING_CAPACITY = 8
        const val OUTGOING_CAPACITY = 64
        const val SNIPPET_BYTES = 1024
        const val SNIPPET_TIMEOUT_MS = 1000L
    }
}

/** A Ktor raw session seen through the transport seam. */
private class KtorSession(
    private val session: ClientWebSocketSession,
    override val handshake: Handshake,
    private val done: CompletableDeferred<Unit>,
) : TransportSession {

    override suspend fun receive(): RawFrame {
        val f = try {
            session.incoming.receive()
        } catch (e: ClosedReceiveChannelException) {
            throw TetherException.ConnectionLost("the server closed the TCP connection without a close frame")
        } catch (e: ProtocolViolationException) {
            throw TetherException.ProtocolViolation(dev.tether.CloseCodes.PROTOCOL_ERROR, e.message)
        } catch (e: FrameTooBigException) {
            throw TetherException.FrameTooLarge(e.frameSize, session.maxFrameSize)
        } catch (e: CancellationException) {
            throw e
        } catch (e: Throwable) {
            throw TetherException.ConnectionLost(e.message ?: e.javaClass.simpleName, e)
        }
        val rsv = (if (f.rsv1) 4 else 0) or (if (f.rsv2) 2 else 0) or (if (f.rsv3) 1 else 0)
        return RawFrame(f.frameType.opcode, f.fin, rsv, f.data)
    }

    override suspend fun send(frame: RawFrame) {
        val type = FrameType[frame.opcode] ?: error("opcode ${frame.opcode}")
        try {
            session.outgoing.send(KFrame.byType(true, type, frame.data, false, false, false))
        } catch (e: CancellationException) {
            throw e
        } catch (e: ClosedSendChannelException) {
            throw TetherException.ConnectionLost("the socket is closed for writing", e)
        } catch (e: Throwable) {
            throw TetherException.ConnectionLost(e.message ?: e.javaClass.simpleName, e)
        }
    }

    override suspend fun flush() {
        try {
            session.flush()
        } catch (e: CancellationException) {
            throw e
        } catch (e: Throwable) {
            throw TetherException.ConnectionLost(e.message ?: e.javaClass.simpleName, e)
        }
        if (session.outgoing.isClosedForSend) {
            throw TetherException.ConnectionLost("the socket is closed for writing")
        }
    }

    override suspend fun awaitWriterDone() {
        session.coroutineContext[Job]?.join()
    }

    override fun abort() {
        session.coroutineContext[Job]?.cancel()
        done.complete(Unit)
    }
}
