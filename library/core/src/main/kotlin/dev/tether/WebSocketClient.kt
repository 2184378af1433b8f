package dev.tether

import dev.tether.engine.EngineSettings
import dev.tether.internal.KotlinOnly
import dev.tether.internal.RealConnection
import dev.tether.internal.Transport
import dev.tether.internal.nio.NioEngine
import kotlin.time.TimeSource
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob

/**
 * An immutable, validated WebSocket client configuration; each [connect] or [connectIn] starts an independent
 * supervised [Connection] from it. Thread-safe.
 */
public class WebSocketClient internal constructor(
    /** The configuration this client was built with. */
    public val config: WebSocketClientConfig,
    @get:JvmSynthetic
    internal val transportFactory: (WebSocketClientConfig) -> Transport,
    @get:JvmSynthetic
    internal val timeSource: TimeSource.WithComparableMarks = TimeSource.Monotonic,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    /** What this client's connections share: a server's `Retry-After` holds back the next attempt of all of them. */
    private val fleet = dev.tether.internal.Fleet()

    /**
     * Starts a stand-alone connection on [Dispatchers.Default]. It owns its coroutines: close it (it is
     * [AutoCloseable]) to end them. Returns at once; see [Connection.awaitConnected].
     */
    public fun connect(): Connection = RealConnection.start(
        config,
        transportFactory,
        CoroutineScope(SupervisorJob() + Dispatchers.Default),
        ownsScope = true,
        timeSource,
        fleet,
    )

    /**
     * Starts a connection as a child of [scope]: cancelling the scope closes it (the socket is shut without a
     * closing handshake; use [Connection.close] for a graceful close). Its coroutines run on the scope's
     * dispatcher, so pass a scope on [Dispatchers.Default] or similar, never the main thread's.
     */
    public fun connectIn(scope: CoroutineScope): Connection =
        RealConnection.start(config, transportFactory, scope, ownsScope = false, timeSource, fleet)

    override fun toString(): String = "WebSocketClient($config)"
}

/**
 * Builds a [WebSocketClient] for [url] (`ws://` or `wss://`). Invalid options fail here, with an
 * [IllegalArgumentException] naming the option.
 *
 * ```kotlin
 * val client = webSocketClient("ws://127.0.0.1:8080/echo") {
 *     pingInterval = 15.seconds
 *     reconnect { backoff(250, 30_000, 1.5) }
 *     onConnect { sendText("hello") }
 *     onText { text -> println(text) }
 * }
 * client.connect().use { conn -> conn.awaitConnected() }
 * ```
 */
public fun webSocketClient(url: String, block: WebSocketClientBuilder.() -> Unit = {}): WebSocketClient {
    val config = WebSocketClientBuilder(url).apply(block).build()
    return WebSocketClient(config, transportFactory = { c ->
        val settings = EngineSettings(
            c.maxFrameSize, c.maxMessageSize, c.maxFragments, c.connectTimeout, c.sslContext, c.userAgent, c.proxy, c.proxySelector,
            c.compression,
        )
        c.engineFactory?.create(settings) ?: NioEngine(settings)
    })
}
