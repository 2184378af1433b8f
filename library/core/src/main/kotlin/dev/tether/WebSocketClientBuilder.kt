package dev.tether

import dev.tether.engine.EngineFactory
import dev.tether.engine.TetherEngineApi
import dev.tether.internal.KotlinOnly
import dev.tether.internal.TetherVersion
import dev.tether.internal.TlsContexts
import dev.tether.internal.UrlCheck
import javax.net.ssl.KeyManager
import javax.net.ssl.SSLContext
import javax.net.ssl.TrustManager
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * The DSL behind [webSocketClient]. Every setter validates its value at once and throws
 * [IllegalArgumentException] with a message naming the option, so a bad configuration fails where it is written.
 * Not thread-safe: use it inside the `webSocketClient { }` block only.
 */
@TetherDsl
public class WebSocketClientBuilder internal constructor(
    private val url: String,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    private val headers = LinkedHashMap<String, String>()
    private val subprotocols = ArrayList<String>()
    private var connectProvider: (suspend (ConnectContext) -> ConnectRequest)? = null
    private val reconnectBuilder = ReconnectBuilder()

    private var onConnect: (suspend HookScope.(Handshake) -> Unit)? = null
    private var onText: (suspend HookScope.(String) -> Unit)? = null
    private var onBinary: (suspend HookScope.(ByteArray) -> Unit)? = null
    private var onPing: (suspend HookScope.(ByteArray) -> Unit)? = null
    private var onPong: (suspend HookScope.(ByteArray, Duration?) -> Unit)? = null
    private var onError: (suspend HookScope.(TetherException) -> Decision)? = null
    private var onDisconnect: (suspend HookScope.(Disconnect) -> Decision)? = null
    private var onTerminate: (suspend HookScope.(ConnectionState.Closed) -> Unit)? = null

    /** Time allowed for TCP, TLS and the HTTP upgrade together (default 10 s). */
    public var connectTimeout: Duration = 10.seconds
        set(value) {
            require(value.isPositive()) { "connectTimeout must be positive, was $value" }
            field = value
        }

    /** Time between pings (default 30 s); [Duration.ZERO] disables keepalive. */
    public var pingInterval: Duration = 30.seconds
        set(value) {
            require(!value.isNegative()) { "pingInterval must not be negative (use Duration.ZERO to disable), was $value" }
            field = value
        }

    /** Time a pong may take before the link counts as dead (default 10 s). */
    public var pongTimeout: Duration = 10.seconds
        set(value) {
            require(value.isPositive()) { "pongTimeout must be positive, was $value" }
            field = value
        }

    /**
     * Keepalive pings in a row that may go unanswered (within [pongTimeout] each) before the link counts as dead
     * (default 0: the first). E.g. a ping every 2 s with 19 allowed misses declares a link dead only after about 40 s
     * of silence. Any pong, even a late one, resets the count.
     */
    public var maxMissedPongs: Int = 0
        set(value) {
            require(value in 0..1000) { "maxMissedPongs must be between 0 and 1000, was $value" }
            field = value
        }

    /**
     * Count any frame from the server as proof of life (default false): no ping is sent while data flows (a ping
     * goes out only after a [pingInterval] with nothing received), and a ping is answered by a pong or by any frame
     * that arrives within [pongTimeout]. For servers that do not answer pings promptly while busy.
     */
    public var livenessFromAnyFrame: Boolean = false

    /** Time the closing handshake may take before the socket is forced shut (default 5 s). */
    public var closeTimeout: Duration = 5.seconds
        set(value) {
            require(value.isPositive()) { "closeTimeout must be positive, was $value" }
            field = value
        }

    /** The largest frame accepted from the server (default 1 MiB, at most 64 MiB). */
    public var maxFrameSize: Long = DEFAULT_MAX_SIZE
        set(value) {
            require(value in 125..MAX_SIZE_LIMIT) { "maxFrameSize must be between 125 and $MAX_SIZE_LIMIT bytes, was $value" }
            field = value
        }

    /** The largest reassembled message accepted from the server (default 1 MiB, at most 64 MiB). */
    public var maxMessageSize: Long = DEFAULT_MAX_SIZE
        set(value) {
            require(value in 125..MAX_SIZE_LIMIT) { "maxMessageSize must be between 125 and $MAX_SIZE_LIMIT bytes, was $value" }
            field = value
        }

    /**
     * The most frames one incoming message may arrive in (1 to 1 048 576): more fails the connection with 1009, so
     * that a server cannot make Tether hold millions of tiny fragments. Unless set, it follows [maxMessageSize]: one
     * fragment per 64 bytes of it, at least 4096 (16 384 for the default 1 MiB), so that a message of the largest
     * size allowed may arrive in 64-byte fragments.
     */
    public var maxFragments: Int
        get() = fragments ?: (maxMessageSize / BYTES_PER_FRAGMENT).toInt().coerceIn(MIN_DEFAULT_FRAGMENTS, MAX_FRAGMENTS_LIMIT)
        set(value) {
            require(value in 1..MAX_FRAGMENTS_LIMIT) { "maxFragments must be between 1 and $MAX_FRAGMENTS_LIMIT, was $value" }
            fragments = value
        }
    private var fragments: Int? = null

    /**
     * The `User-Agent` of the upgrade request (default `tether/<version>`); null sends none. A `User-Agent` set with
     * [header] wins.
     */
    public var userAgent: String? = TetherVersion.userAgent
        set(value) {
            require(value == null || (value.isNotBlank() && value.none { it == '\r' || it == '\n' })) {
                "userAgent must be null or a non-blank value without CR or LF"
            }
            field = value
        }

    /**
     * Closes the connection (1000, "idle") after this long with no application traffic (no message sent or received)
     * and reconnects on the next send, or on `resume()` or the gate opening (default null: never). The state meanwhile
     * is `Paused(IDLE)`. Needs the QUEUE offline policy (the send that wakes it waits in the outbox).
     */
    public var idleTimeout: Duration? = null
        set(value) {
            require(value == null || value.isPositive()) { "idleTimeout must be positive or null, was $value" }
            field = value
        }

    private var gate: kotlinx.coroutines.flow.Flow<Boolean>? = null

    /**
     * Runs the connection only while [allowed] says true (the app in the foreground, the network available, the user
     * logged in). False closes the connection gracefully (1000, "gated") and keeps the outbox; true connects at once,
     * cutting any backoff short, with the attempt count reset. Until the flow's first value the connection waits.
     * Collected on the connection's dispatcher for as long as the connection lives.
     */
    public fun gate(allowed: kotlinx.coroutines.flow.Flow<Boolean>) {
        gate = allowed
    }

    /**
     * Where hooks run (default null: the connection's own dispatcher). Set it to run them on a thread of your choice,
     * e.g. `Dispatchers.Main` on Android or an executor's `asCoroutineDispatcher()`; hooks still run one at a time
     * and in event order, and a hook that blocks a thread of this dispatcher delays only hooks.
     */
    public var hookDispatcher: kotlinx.coroutines.CoroutineDispatcher? = null

    private var sslContext: SSLContext? = null
    private var trustManagers: Array<out TrustManager>? = null
    private var keyManagers: Array<out KeyManager>? = null
    private val pins = CertificatePinsBuilder()
    private var engineFactory: EngineFactory? = null

    /** What [Connection.send] does while not connected (default [OfflinePolicy.QUEUE]). */
    public var offlinePolicy: OfflinePolicy = OfflinePolicy.QUEUE

    /**
     * How long a frame may wait in the outbox (offline, or behind a full buffer) before it fails with
     * [TetherException.SendFailure.EXPIRED] instead of going out late (default null: no limit). A send can set its
     * own ([Connection.send] with `timeToLive`). A frame already being written is never expired.
     */
    public var outboxTimeToLive: Duration? = null
        set(value) {
            require(value == null || value.isPositive()) { "outboxTimeToLive must be positive or null, was $value" }
            field = value
        }

    /** Log errors at WARN (default true). */
    public var logErrors: Boolean = true

    /** Log lifecycle events at INFO (default true). */
    public var logInfo: Boolean = true

    /**
     * Trace every frame, both ways, at DEBUG on the `dev.tether.Frames` logger (default false): direction, opcode,
     * size, the first 64 characters of text and close reasons, and the upgrade's headers (credentials hidden).
     * Text payloads are yours: switch this on only where logging them is acceptable.
     */
    public var traceFrames: Boolean = false

    /** With [traceFrames], also show the first 16 bytes of binary, ping and pong payloads in hex (default false). */
    public var traceBinaryPayloads: Boolean = false

    private val sensitive = LinkedHashSet<String>()
    private val safeToLog = LinkedHashSet<String>()

    private val watchers = ArrayList<suspend (Connection) -> Unit>()

    private var proxy: ProxyConfig? = null
    private var proxySelector: java.net.ProxySelector? = null
    private val compression = CompressionBuilder()

    /**
     * Tunes permessage-deflate (RFC 7692), which Tether's own engine offers by default: `compression { threshold =
     * 4096 }`, `compression { enabled = false }`. See [CompressionConfig]. Calls add up: each block changes only what it
     * sets. With another engine ([engine]) the build fails: configure that engine's client instead.
     */
    public fun compression(block: CompressionBuilder.() -> Unit) {
        compression.block()
        compressionSet = true
    }

    private var compressionSet = false

    /**
     * Connects through [proxy] (HTTP `CONNECT` or SOCKS5; `ProxyConfig.http(...)`, `ProxyConfig.socks5(...)`), for
     * `ws://` and `wss://`. A refusal fails the attempt with `ConnectFailed(PROXY)` and the proxy's status. Tether's
     * own engine only; the Ktor engine takes its proxy from the `HttpClient`.
     */
    public fun proxy(proxy: ProxyConfig) {
        this.proxy = proxy
    }

    /**
     * Lets [selector] pick the proxy for each attempt's URL (as `java.net.ProxySelector.getDefault()` does from the
     * JVM's `https.proxyHost` / `socksProxyHost` settings); its `HTTP` proxies are asked with `CONNECT`, its `SOCKS`
     * ones with SOCKS5, without credentials (use [proxy] for those). [proxy] wins when both are set.
     */
    public fun proxySelector(selector: java.net.ProxySelector) {
        proxySelector = selector
    }

    /**
     * Runs [watcher] for every connection of this client, started before the connection's first attempt so that a
     * watcher collecting [Connection.events] misses nothing (metrics binders such as `tether-micrometer`'s use it).
     * It runs on `Dispatchers.Default` up to its first suspension in the caller of `connect()`, so subscribe first
     * thing. When the connection has closed, the watcher runs until it has handled what was ready for it (the
     * [ConnectionEvent.Closed] event and the `Closed` state included) and waits for more, then it is cancelled: a
     * watcher that collects [Connection.events] for ever never slows a close. One still busy gets until the close
     * deadline (`closeTimeout`). A watcher that throws is logged; the connection goes on.
     */
    public fun watch(watcher: suspend (Connection) -> Unit) {
        watchers += watcher
    }

    /**
     * Marks request or response headers whose values must never be logged, at any level, even when also named in
     * [safeToLogHeaders] (`Authorization`, `Proxy-Authorization`, `Cookie` and `Set-Cookie` always are hidden). Header
     * values are hidden by default anyway; this guards against a later [safeToLogHeaders].
     */
    public fun sensitiveHeaders(vararg names: String) {
        names.forEach { require(UrlCheck.isToken(it)) { "sensitiveHeaders: \"$it\" is not a valid header name" } }
        names.mapTo(sensitive) { it.lowercase() }
    }

    /**
     * Marks request or response headers whose values the frame trace (`traceFrames`) may show. By default every
     * header value is shown as `***`, except the WebSocket protocol's own (`Upgrade`, `Connection`, `Host`,
     * `Sec-WebSocket-Version`, `-Protocol`, `-Extensions`, `-Accept`): a custom header may carry a key or a token.
     * The credentials headers and [sensitiveHeaders] are never shown, whatever is marked here.
     */
    public fun safeToLogHeaders(vararg names: String) {
        names.forEach { require(UrlCheck.isToken(it)) { "safeToLogHeaders: \"$it\" is not a valid header name" } }
        names.mapTo(safeToLog) { it.lowercase() }
    }


    private var incoming = BufferConfig(DEFAULT_CAPACITY, OverflowPolicy.SUSPEND)
    private var outgoing = BufferConfig(DEFAULT_CAPACITY, OverflowPolicy.SUSPEND)

    /**
     * Adds a request header sent on every attempt. The headers of the upgrade itself (`Upgrade`, `Connection`,
     * `Sec-WebSocket-*`) are Tether's and rejected here; `Host` and `User-Agent` may be overridden.
     */
    public fun header(name: String, value: String) {
        UrlCheck.requireHeader(name, value)
        headers[name] = value
    }

    /**
     * TLS for `wss://` with your own [SSLContext] (a private trust store, client certificates, pinned protocols).
     * Default: the JDK's default context, with its trust store, TLS 1.3 and 1.2. Certificates and host names (and IP
     * literals) are always verified; there is no switch to turn that off.
     */
    public fun tls(sslContext: SSLContext) {
        this.sslContext = sslContext
        trustManagers = null
        keyManagers = null
    }

    /**
     * TLS for `wss://` trusting what [trustManagers] trust, presenting the client certificate of [keyManagers] when
     * the server asks for one. Builds a `TLS` [SSLContext] (TLS 1.3 and 1.2). Host names are still verified.
     */
    public fun tls(trustManagers: Array<out TrustManager>, keyManagers: Array<out KeyManager>? = null) {
        require(trustManagers.isNotEmpty()) { "tls: trustManagers must not be empty" }
        this.trustManagers = trustManagers.copyOf()
        this.keyManagers = keyManagers?.copyOf()
        sslContext = null
    }

    /**
     * Certificate pinning (see [CertificatePins]): `certificatePins { pin("*.example.com", "sha256/…", "sha256/…") }`.
     * Checked after the normal verification of the chain and the host name, never instead of it; a host without
     * pins is not pinned. Works with the default trust store or [tls] with trust managers, on Tether's own engine;
     * the build fails with [tls] given an [SSLContext] (Tether must wrap the trust manager) or with another engine.
     * Calls add up.
     */
    public fun certificatePins(block: CertificatePinsBuilder.() -> Unit) {
        pins.apply(block)
    }

    /**
     * Uses another engine under Tether's connection semantics, e.g. `tether-ktor`'s for an existing Ktor
     * `HttpClient`. The default is Tether's own NIO engine.
     */
    @TetherEngineApi
    public fun engine(factory: EngineFactory) {
        engineFactory = factory
    }

    /**
     * Lets a protocol layer on top of Tether (such as `tether-phoenix`) take complete incoming messages on the socket
     * reader, before they are queued for the application. [tap] is called on the reader's thread for every message,
     * once, in arrival order; it returns true when it consumed the message, false to let it through to `incoming`
     * (or the hooks) as usual. What it takes overtakes messages it let through that the application has not read
     * yet: a tap that cares about order tracks them. It must be quick and must never block or call user code; a throw
     * counts as false (and is logged). Applications want `incoming`, `frames` or `onText`, not this.
     */
    @TetherEngineApi
    public fun inboundTap(tap: (Frame) -> Boolean) {
        inboundTap = tap
    }

    private var inboundTap: ((Frame) -> Boolean)? = null

    /** Adds request headers sent on every attempt. */
    public fun headers(values: Map<String, String>) {
        values.forEach { (k, v) -> header(k, v) }
    }

    /** The subprotocols to offer, most preferred first. The server's choice is in [Handshake.subprotocol]. */
    public fun subprotocols(vararg names: String) {
        names.forEach { require(UrlCheck.isToken(it)) { "subprotocols: \"$it\" is not a valid HTTP token" } }
        subprotocols.clear()
        subprotocols.addAll(names)
    }

    /**
     * A suspending provider called before every attempt, which may return a new URL, headers and subprotocols
     * (fresh tokens, one-time URLs). It runs on the supervisor coroutine within the connect timeout; if it throws,
     * the attempt fails with [TetherException.HandlerFailed] and `onError` decides.
     */
    public fun connectWith(provider: suspend (ConnectContext) -> ConnectRequest) {
        connectProvider = provider
    }

    /** The incoming buffer: [capacity] whole messages (default 64) and its overflow policy (default SUSPEND). */
    public fun incomingBuffer(capacity: Int, overflow: OverflowPolicy = OverflowPolicy.SUSPEND) {
        require(capacity in 1..MAX_CAPACITY) { "incomingBuffer.capacity must be between 1 and $MAX_CAPACITY, was $capacity" }
        require(overflow != OverflowPolicy.FAIL) { "incomingBuffer.overflow cannot be FAIL (use SUSPEND or a DROP policy)" }
        incoming = BufferConfig(capacity, overflow)
    }

    /** The outgoing buffer and offline outbox: [capacity] frames (default 64) and its overflow policy (default SUSPEND). */
    public fun outgoingBuffer(capacity: Int, overflow: OverflowPolicy = OverflowPolicy.SUSPEND) {
        require(capacity in 1..MAX_CAPACITY) { "outgoingBuffer.capacity must be between 1 and $MAX_CAPACITY, was $capacity" }
        outgoing = BufferConfig(capacity, overflow)
    }

    /** Reconnect settings: `reconnect { backoff(250, 30_000, 1.5); jitter(0.2); maxAttempts = 10 }`. */
    public fun reconnect(block: ReconnectBuilder.() -> Unit) {
        reconnectBuilder.apply(block)
    }

    /** Runs after every successful handshake; may send frames. */
    public fun onConnect(hook: suspend HookScope.(Handshake) -> Unit) {
        onConnect = hook
    }

    /** Receives every text message. Setting it (or [onBinary]) routes messages here instead of [Connection.incoming]. */
    public fun onText(hook: suspend HookScope.(String) -> Unit) {
        onText = hook
    }

    /** Receives every binary message (an array of your own). Setting it routes messages away from [Connection.incoming]. */
    public fun onBinary(hook: suspend HookScope.(ByteArray) -> Unit) {
        onBinary = hook
    }

    /** Observes pings from the server (Tether has already answered them). */
    public fun onPing(hook: suspend HookScope.(ByteArray) -> Unit) {
        onPing = hook
    }

    /** Observes pongs, with the round-trip time when the pong answers a keepalive ping of Tether's. */
    public fun onPong(hook: suspend HookScope.(payload: ByteArray, rtt: Duration?) -> Unit) {
        onPong = hook
    }

    /**
     * Decides about an error that did not come from a connection ending: a failed connect or handshake, a hook
     * that threw, a dropped message. Default: [DefaultPolicy.onError].
     */
    public fun onError(hook: suspend HookScope.(TetherException) -> Decision) {
        onError = hook
    }

    /** Decides what follows when a connection that was up ends. Default: [DefaultPolicy.onDisconnect]. */
    public fun onDisconnect(hook: suspend HookScope.(Disconnect) -> Decision) {
        onDisconnect = hook
    }

    /** Runs exactly once, when the client reaches [ConnectionState.Closed]. */
    public fun onTerminate(hook: suspend HookScope.(ConnectionState.Closed) -> Unit) {
        onTerminate = hook
    }

    @JvmSynthetic
    internal fun build(): WebSocketClientConfig {
        UrlCheck.requireWebSocketUrl(url, "url")
        val certificatePins = pins.build()
        require(engineFactory == null || (proxy == null && proxySelector == null)) {
            "proxy / proxySelector: only Tether's own engine uses them; with another engine, configure its client's proxy"
        }
        require(engineFactory == null || !compressionSet) {
            "compression: only Tether's own engine negotiates permessage-deflate; with another engine, configure its " +
                "client (Ktor: its WebSockets plugin's extensions)"
        }
        return WebSocketClientConfig(
            url = url,
            headers = LinkedHashMap(headers),
            subprotocols = subprotocols.toList(),
            connectProvider = connectProvider,
            connectTimeout = connectTimeout,
            pingInterval = pingInterval,
            pongTimeout = pongTimeout,
            maxMissedPongs = maxMissedPongs,
            livenessFromAnyFrame = livenessFromAnyFrame,
            closeTimeout = closeTimeout,
            maxFrameSize = maxFrameSize,
            maxMessageSize = maxMessageSize,
            incomingBuffer = incoming,
            outgoingBuffer = outgoing,
            offlinePolicy = offlinePolicy,
            outboxTimeToLive = outboxTimeToLive,
            idleTimeout = idleTimeout.also {
                require(it == null || offlinePolicy == OfflinePolicy.QUEUE) {
                    "idleTimeout needs offlinePolicy QUEUE: the send that wakes an idle connection waits in the outbox"
                }
            },
            gate = gate,
            reconnect = reconnectBuilder.build(),
            logErrors = logErrors,
            logInfo = logInfo,
            maxFragments = maxFragments,
            userAgent = userAgent,
            sslContext = TlsContexts.build(sslContext, trustManagers, keyManagers, certificatePins, engineFactory != null),
            certificatePins = certificatePins,
            engineFactory = engineFactory,
            hookDispatcher = hookDispatcher,
            inboundTap = inboundTap,
            watchers = watchers.toList(),
            proxy = proxy,
            proxySelector = proxySelector,
            compression = compression.build(),
            traceFrames = traceFrames,
            traceBinaryPayloads = traceBinaryPayloads,
            sensitiveHeaders = sensitive.toSet(),
            safeToLogHeaders = safeToLog.toSet(),
            hooks = Hooks(onConnect, onText, onBinary, onPing, onPong, onError, onDisconnect, onTerminate),
        )
    }

    private companion object {
        const val DEFAULT_MAX_SIZE: Long = 1L shl 20
        const val MAX_SIZE_LIMIT: Long = 64L shl 20
        const val DEFAULT_CAPACITY: Int = 64
        const val MIN_DEFAULT_FRAGMENTS: Int = 4096
        const val BYTES_PER_FRAGMENT: Long = 64
        const val MAX_FRAGMENTS_LIMIT: Int = 1 shl 20
        const val MAX_CAPACITY: Int = 1 shl 20
    }
}
