package dev.tether.ktor

import dev.tether.ktor.internal.KtorWebSocketEngine
import dev.tether.WebSocketClientBuilder
import dev.tether.engine.EngineFactory
import dev.tether.engine.EngineSettings
import dev.tether.engine.WebSocketEngine
import io.ktor.client.HttpClient
import io.ktor.client.plugins.websocket.WebSockets

/**
 * Runs Tether over an existing Ktor [HttpClient] (any Ktor engine: CIO, OkHttp, Java...), for applications that
 * already configure one (proxies, TLS, interceptors). Tether's connection semantics (hooks, decisions, states, outbox,
 * keepalive, RFC 6455 checks) are the same as on Tether's own engine.
 *
 * ```kotlin
 * val client = webSocketClient("wss://example.com/feed") { ktorEngine(httpClient) }
 * ```
 *
 * Limits, documented in `docs/architecture.md`: Ktor reads each frame before Tether sees it, so a frame larger than
 * `maxFrameSize` may be allocated before it is rejected (CIO starts a session with no frame limit); TLS, timeouts and
 * proxies are those of the Ktor engine; the upgrade response is checked by Ktor, not by Tether. [client] is not
 * closed by Tether; each connection derives a client from it with the `WebSockets` plugin installed.
 */
public class KtorEngine(private val client: HttpClient) : EngineFactory {
    override fun create(settings: EngineSettings): WebSocketEngine = KtorWebSocketEngine(client, settings)

    override fun toString(): String = "KtorEngine($client)"
}

/** Runs this client's connections over [client] instead of Tether's own NIO engine (see [KtorEngine]). */
public fun WebSocketClientBuilder.ktorEngine(client: HttpClient) {
    engine(KtorEngine(client))
}
