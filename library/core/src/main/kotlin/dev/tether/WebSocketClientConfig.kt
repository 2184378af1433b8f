package dev.tether

import dev.tether.engine.EngineFactory
import dev.tether.internal.KotlinOnly
import javax.net.ssl.SSLContext
import kotlin.time.Duration

/**
 * The immutable, validated configuration of a [WebSocketClient]. Built by [webSocketClient]; see
 * `docs/configuration.md` for every option with its default.
 */
public class WebSocketClientConfig internal constructor(
    /** The URL to connect to, unless the connect provider says otherwise. */
    public val url: String,
    /** Request headers sent on every attempt. */
    public val headers: Map<String, String>,
    /** Subprotocols offered on every attempt, most preferred first. */
    public val subprotocols: List<String>,
    @get:JvmSynthetic
    internal val connectProvider: (suspend (ConnectContext) -> ConnectRequest)?,
    /** Time allowed for TCP, TLS and the HTTP upgrade together. */
    public val connectTimeout: Duration,
    /** Time between pings; [Duration.ZERO] disables keepalive. */
    public val pingInterval: Duration,
    /** Time a pong may take before the link counts as dead. */
    public val pongTimeout: Duration,
    /** Pings in a row that may go unanswered before the link is dead. */
    public val maxMissedPongs: Int,
    /** True when any inbound frame counts as proof of life. */
    public val livenessFromAnyFrame: Boolean,
    /** Time the closing handshake may take before the socket is forced shut. */
    public val closeTimeout: Duration,
    /** The largest single frame accepted from the server, in bytes. */
    public val maxFrameSize: Long,
    /** The largest reassembled message accepted from the server, in bytes. */
    public val maxMessageSize: Long,
    /** The buffer between the socket reader and you. */
    public val incomingBuffer: BufferConfig,
    /** The buffer between your sends and the socket writer (also the offline outbox). */
    public val outgoingBuffer: BufferConfig,
    /** What [Connection.send] does while not connected. */
    public val offlinePolicy: OfflinePolicy,
    /** How long a frame may wait in the outbox before it expires, or null for no limit. */
    public val outboxTimeToLive: Duration?,
    /** Time without application traffic after which the connection closes until the next send, or null. */
    public val idleTimeout: Duration?,
    @get:JvmSynthetic
    internal val gate: kotlinx.coroutines.flow.Flow<Boolean>?,
    /** Reconnect settings. */
    public val reconnect: ReconnectConfig,
    /** Log errors (connect failures, protocol violations, hook failures) at WARN/ERROR. */
    public val logErrors: Boolean,
    /** Log lifecycle events (connected, disconnected, reconnecting) at INFO. */
    public val logInfo: Boolean,
    /** The most frames one incoming message may arrive in. */
    public val maxFragments: Int,
    /** The `User-Agent` of the upgrade request, or null for none. */
    public val userAgent: String?,
    /** The TLS context for `wss://`, or null for the JDK's default. Verification is always on. */
    public val sslContext: SSLContext?,
    /** The certificate pins ([CertificatePins]), empty when no host is pinned. */
    public val certificatePins: CertificatePins,
    @get:JvmSynthetic
    internal val engineFactory: EngineFactory?,
    /** Where hooks run, or null for the connection's own dispatcher. */
    public val hookDispatcher: kotlinx.coroutines.CoroutineDispatcher?,
    @get:JvmSynthetic
    internal val inboundTap: ((Frame) -> Boolean)?,
    @get:JvmSynthetic
    internal val watchers: List<suspend (Connection) -> Unit>,
    /** The proxy connections go through, or null. */
    public val proxy: ProxyConfig?,
    /** Picks a proxy per URL when [proxy] is null, or null. */
    public val proxySelector: java.net.ProxySelector?,
    /** permessage-deflate: offered or not, and how. */
    public val compression: CompressionConfig,
    /** Whether every frame is traced at DEBUG (`dev.tether.Frames`). */
    public val traceFrames: Boolean,
    /** Whether the frame trace shows binary payloads. */
    public val traceBinaryPayloads: Boolean,
    /** Header names (lower case) whose values are never logged, besides the credentials headers. */
    public val sensitiveHeaders: Set<String>,
    /**
     * Header names (lower case) whose values the frame trace may show. Every other header's value is shown as `***`,
     * except the WebSocket protocol's own (`Upgrade`, `Connection`, `Sec-WebSocket-*`, `Host`).
     */
    public val safeToLogHeaders: Set<String>,
    /** The hooks. */
    public val hooks: Hooks,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    /** True when a connect provider (`connectWith { }`) is set. */
    public val hasConnectProvider: Boolean get() = connectProvider != null

    override fun toString(): String =
        "WebSocketClientConfig(url=${dev.tether.internal.Redaction.url(url)}, headers=${headers.keys}, " +
            "subprotocols=$subprotocols, connectTimeout=$connectTimeout, pingInterval=$pingInterval, " +
            "pongTimeout=$pongTimeout, closeTimeout=$closeTimeout, maxFrameSize=$maxFrameSize, " +
            "maxMessageSize=$maxMessageSize, incoming=$incomingBuffer, outgoing=$outgoingBuffer, " +
            "offline=$offlinePolicy, reconnect=${reconnect.backoff}, maxAttempts=${reconnect.maxAttempts})"
}
