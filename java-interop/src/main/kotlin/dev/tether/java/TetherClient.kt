package dev.tether.java

import dev.tether.ConnectContext
import dev.tether.OfflinePolicy
import dev.tether.OverflowPolicy
import dev.tether.WebSocketClientBuilder
import dev.tether.java.internal.KotlinOnly
import dev.tether.micrometer.micrometer
import dev.tether.webSocketClient
import io.micrometer.core.instrument.MeterRegistry
import io.micrometer.core.instrument.Tag
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.Executor
import java.util.function.IntFunction
import javax.net.ssl.KeyManager
import javax.net.ssl.SSLContext
import javax.net.ssl.TrustManager
import kotlin.time.toKotlinDuration
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.asExecutor
import kotlinx.coroutines.future.await

/**
 * A Tether WebSocket client for Java: an immutable, validated configuration from which [connect] starts supervised
 * connections. Thread-safe.
 *
 * ```java
 * TetherClient client = TetherClient.builder("ws://127.0.0.1:8080/echo")
 *     .pingInterval(Duration.ofSeconds(15))
 *     .listener(new Listener() {
 *         public void onText(TetherConnection c, String text) { System.out.println(text); }
 *     })
 *     .build();
 * try (TetherConnection conn = client.connect().get(10, TimeUnit.SECONDS)) {
 *     conn.sendText("hello").join();
 * }
 * ```
 */
public class TetherClient private constructor(
    @get:JvmSynthetic
    internal val configure: WebSocketClientBuilder.() -> Unit,
    @get:JvmSynthetic
    internal val url: String,
    @get:JvmSynthetic
    internal val listener: Listener,
    @get:JvmSynthetic
    internal val executor: Executor,
    @get:JvmSynthetic
    internal val errorHandler: ErrorHandler?,
    @get:JvmSynthetic
    internal val disconnectHandler: DisconnectHandler?,
    @get:JvmSynthetic
    internal val incomingCapacity: Int,
) {
    /**
     * Starts a connection and returns a future that completes with its handle once it is connected (it keeps
     * reconnecting until then), or fails with the cause if it closes first or goes down (a refusal such as a 404,
     * or a 401 without a connect provider); the connection is then closed. Cancelling the future closes it too.
     */
    public fun connect(): CompletableFuture<TetherConnection> = TetherConnection(this).start().firstConnect()

    /** Starts a connection and returns its handle at once, without waiting for the connect. */
    public fun start(): TetherConnection = TetherConnection(this).start()

    public companion object {
        /** A builder for a client of [url] (`ws://` or `wss://`). */
        @JvmStatic
        public fun builder(url: String): Builder = Builder(url)
    }

    /**
     * Sets every option of a Tether client. Setters validate at once (an [IllegalArgumentException] names the
     * option); [build] checks the whole. Not thread-safe.
     */
    public class Builder internal constructor(private val url: String, kotlinOnly: KotlinOnly = KotlinOnly()) {
        private val steps = ArrayList<WebSocketClientBuilder.() -> Unit>()
        private var listener: Listener = object : Listener {}
        private var executor: Executor = Dispatchers.Default.asExecutor()
        private var errorHandler: ErrorHandler? = null
        private var disconnectHandler: DisconnectHandler? = null
        private var connectProvider: ConnectProvider? = null

        private fun step(block: WebSocketClientBuilder.() -> Unit): Builder {
            webSocketClient(url, block) // validates this step now
            steps += block
            return this
        }

        /** Adds a request header sent on every attempt (never logged when it carries credentials). */
        public fun header(name: String, value: String): Builder = step { header(name, value) }

        /** Adds request headers. */
        public fun headers(headers: Map<String, String>): Builder = step { headers(headers) }

        /** The subprotocols to offer, most preferred first. */
        public fun subprotocols(vararg names: String): Builder = step { subprotocols(*names) }

        /** Provides URL, headers and subprotocols before every attempt, possibly asynchronously. */
        public fun connectProvider(provider: ConnectProvider): Builder {
            connectProvider = provider
            return this
        }

        /** Time for TCP, TLS and the upgrade (default 10 s). */
        public fun connectTimeout(timeout: Duration): Builder = step { connectTimeout = timeout.toKotlinDuration() }

        /** Time between pings (default 30 s); [Duration.ZERO] disables keepalive. */
        public fun pingInterval(interval: Duration): Builder = step { pingInterval = interval.toKotlinDuration() }

        /** Time a pong may take before the link is dead (default 10 s). */
        public fun pongTimeout(timeout: Duration): Builder = step { pongTimeout = timeout.toKotlinDuration() }

        /** Pings in a row that may go unanswered before the link is dead (default 0: the first). */
        public fun maxMissedPongs(count: Int): Builder = step { maxMissedPongs = count }

        /** Count any frame from the server as proof of life: no ping while data flows (default false). */
        public fun livenessFromAnyFrame(enabled: Boolean): Builder = step { livenessFromAnyFrame = enabled }

        /** Time the closing handshake may take (default 5 s). */
        public fun closeTimeout(timeout: Duration): Builder = step { closeTimeout = timeout.toKotlinDuration() }

        /** Largest frame accepted, in bytes (default 1 MiB). */
        public fun maxFrameSize(bytes: Long): Builder = step { maxFrameSize = bytes }

        /** Largest reassembled message accepted, in bytes (default 1 MiB). */
        public fun maxMessageSize(bytes: Long): Builder = step { maxMessageSize = bytes }

        /** The incoming buffer (default 64, SUSPEND). */
        public fun incomingBuffer(capacity: Int, overflow: OverflowPolicy): Builder = step { incomingBuffer(capacity, overflow) }

        /** The outgoing buffer and offline outbox (default 64, SUSPEND). */
        public fun outgoingBuffer(capacity: Int, overflow: OverflowPolicy): Builder = step { outgoingBuffer(capacity, overflow) }

        /** How long a frame may wait in the outbox before it fails with EXPIRED instead of going out late (default: no limit). */
        public fun outboxTimeToLive(timeToLive: Duration): Builder = step { outboxTimeToLive = timeToLive.toKotlinDuration() }

        /**
         * Runs connections only while [gate] is open (the app in the foreground, the network available): closing it
         * closes them gracefully and keeps what is queued; opening it connects at once with the attempt count reset.
         */
        public fun gate(gate: ConnectionGate): Builder = step { gate(gate.flow) }

        /** Closes a connection after [timeout] without traffic; the next send (or resume) connects again. */
        public fun idleTimeout(timeout: Duration): Builder = step { idleTimeout = timeout.toKotlinDuration() }

        /** What sends do while disconnected (default QUEUE). */
        public fun offlinePolicy(policy: OfflinePolicy): Builder = step { offlinePolicy = policy }

        /** Exponential backoff (default 250 ms, 30 s, 1.5). */
        public fun backoff(initial: Duration, max: Duration, factor: Double): Builder =
            step { reconnect { backoff(initial.toMillis(), max.toMillis(), factor) } }

        /** Jitter as a fraction of each delay (default 0.2). */
        public fun jitter(fraction: Double): Builder = step { reconnect { jitter(fraction) } }

        /** Any reconnect schedule: attempt (1-based) → delay. */
        public fun reconnectDelays(schedule: IntFunction<Duration>): Builder =
            step { reconnect { delays { schedule.apply(it).toKotlinDuration() } } }

        /**
         * A circuit breaker (default off): more than [maxFailures] failed connect attempts within [within] stop the
         * retrying; the connection goes DOWN with `CircuitOpen` until `reconnect()`.
         */
        public fun circuitBreaker(maxFailures: Int, within: Duration): Builder =
            step { reconnect { circuitBreaker(maxFailures, within.toKotlinDuration()) } }

        /** Attempts allowed per streak (default unlimited). */
        public fun maxAttempts(attempts: Int): Builder = step { reconnect { maxAttempts = attempts } }

        /** Uptime after which the attempt count resets (default 10 s). */
        public fun stableAfter(uptime: Duration): Builder = step { reconnect { stableAfter = uptime.toKotlinDuration() } }

        /** Reconnect at all (default true); false: default decisions close instead. */
        public fun reconnect(enabled: Boolean): Builder = step { reconnect { this.enabled = enabled } }

        /** Log errors at WARN (default true). */
        public fun logErrors(enabled: Boolean): Builder = step { logErrors = enabled }

        /** Log lifecycle events at INFO (default true). */
        public fun logInfo(enabled: Boolean): Builder = step { logInfo = enabled }

        /**
         * Trace every frame at DEBUG on the `dev.tether.Frames` logger (default false): direction, opcode, size, the
         * first 64 characters of text, and the upgrade's headers with credentials hidden.
         */
        public fun traceFrames(enabled: Boolean): Builder = step { traceFrames = enabled }

        /** With [traceFrames], also show the first 16 bytes of binary, ping and pong payloads (default false). */
        public fun traceBinaryPayloads(enabled: Boolean): Builder = step { traceBinaryPayloads = enabled }

        /**
         * Connects through [proxy] (`ProxyConfig.http(host, port[, user, password])` or `ProxyConfig.socks5(...)`),
         * for ws:// and wss://; a refusal fails the attempt with `ConnectFailed(PROXY)` and the proxy's status.
         */
        public fun proxy(proxy: dev.tether.ProxyConfig): Builder = step { proxy(proxy) }

        /** Lets [selector] pick the proxy per URL (e.g. `ProxySelector.getDefault()`); [proxy] wins when both are set. */
        public fun proxySelector(selector: java.net.ProxySelector): Builder = step { proxySelector(selector) }

        /**
         * Offers permessage-deflate (RFC 7692) or not (default true, Tether's own engine). Once the server agrees,
         * incoming compressed messages are inflated (counted against [maxMessageSize] as they grow) and outgoing ones
         * of at least [compressionThreshold] bytes are compressed; send `new Frame.Text(text, false)` to keep one
         * message uncompressed.
         */
        public fun compression(enabled: Boolean): Builder = step { compression { this.enabled = enabled } }

        /** Outgoing messages below [bytes] go uncompressed (default 1024; 0 compresses all). */
        public fun compressionThreshold(bytes: Int): Builder = step { compression { threshold = bytes } }

        /** The zlib level for outgoing messages, 1 (fastest) to 9 (smallest); default 6. */
        public fun compressionLevel(level: Int): Builder = step { compression { this.level = level } }

        /** The largest window (8..15 bits) Tether offers to compress with (default 15: whatever the server allows). */
        public fun compressionClientMaxWindowBits(bits: Int): Builder = step { compression { clientMaxWindowBits = bits } }

        /** Asks the server to compress with at most a window of [bits] (8..15); by default Tether asks for none. */
        public fun compressionServerMaxWindowBits(bits: Int): Builder = step { compression { serverMaxWindowBits = bits } }

        /** Compresses each outgoing message on its own (less memory, larger output); default false. */
        public fun compressionClientNoContextTakeover(enabled: Boolean): Builder = step { compression { clientNoContextTakeover = enabled } }

        /** Asks the server to compress each message on its own; default false. */
        public fun compressionServerNoContextTakeover(enabled: Boolean): Builder = step { compression { serverNoContextTakeover = enabled } }

        /** Header names whose values are never logged (credentials headers always are hidden). */
        public fun sensitiveHeaders(vararg names: String): Builder = step { sensitiveHeaders(*names) }

        /**
         * Headers whose values the frame trace may show; every other header value is shown as `***` (the
         * protocol's own headers excepted). Credentials and [sensitiveHeaders] never show.
         */
        public fun safeToLogHeaders(vararg names: String): Builder = step { safeToLogHeaders(*names) }

        /**
         * TLS for `wss://` with your own context (private trust store, client certificate). Default: the JDK's default
         * context. Certificates and host names are always verified.
         */
        public fun tls(sslContext: SSLContext): Builder = step { tls(sslContext) }

        /** TLS for `wss://` trusting [trustManagers], presenting [keyManagers]' client certificate when asked (may be null). */
        public fun tls(trustManagers: Array<TrustManager>, keyManagers: Array<KeyManager>?): Builder =
            step { tls(trustManagers, keyManagers) }

        /**
         * Pins hosts matching [hostPattern] (`example.com`, `*.example.com`, `**.example.com`) to [pins]
         * (`sha256/<Base64 of the SHA-256 of a SubjectPublicKeyInfo>`; add a backup pin): after the normal verification,
         * a key of the verified chain must match one, or the attempt fails with `ConnectFailed` of kind TLS naming the
         * host and the pins seen. Calls add up. Fails at once naming a bad pin or pattern; [build] fails with
         * [tls] given an `SSLContext` (use trust managers: Tether wraps them). See `dev.tether.CertificatePins`.
         */
        public fun certificatePin(hostPattern: String, vararg pins: String): Builder =
            step { certificatePins { pin(hostPattern, *pins) } }

        /**
         * Records every connection's metrics in [registry] (see `docs/observability.md` for the meters), from before
         * its first attempt, so the first connect is counted too. Needs `tether-micrometer` on the class path (this
         * facade declares it optional). [tags] go on every meter; [tagConnectionId] adds the connection's id (only for
         * a bounded number of connections per registry).
         */
        @JvmOverloads
        public fun metrics(registry: MeterRegistry, tags: Iterable<Tag> = emptyList(), tagConnectionId: Boolean = false): Builder =
            step { micrometer(registry, tags, tagConnectionId) }

        /** The `User-Agent` of the upgrade (default `tether/<version>`); null sends none. */
        public fun userAgent(value: String?): Builder = step { userAgent = value }

        /** The most frames one incoming message may arrive in (default: one per 64 bytes of maxMessageSize, at least 4096). */
        public fun maxFragments(count: Int): Builder = step { maxFragments = count }

        /** The listener (default: none). */
        public fun listener(listener: Listener): Builder {
            this.listener = listener
            return this
        }

        /**
         * The executor listener methods and handlers run on (default: the shared pool Tether's coroutines run on,
         * `Dispatchers.Default`; give listeners that block an executor of their own); they run one at a
         * time per connection, in event order, whatever the executor.
         */
        public fun callbackExecutor(executor: Executor): Builder {
            this.executor = executor
            return this
        }

        /** Decides after errors outside a running connection (default: Tether's policy, see `docs/reconnect.md`). */
        public fun onError(handler: ErrorHandler): Builder {
            errorHandler = handler
            return this
        }

        /** Decides after a connection ends (default: Tether's policy). */
        public fun onDisconnect(handler: DisconnectHandler): Builder {
            disconnectHandler = handler
            return this
        }

        /** The client. @throws IllegalArgumentException if the configuration is invalid. */
        public fun build(): TetherClient {
            val all = steps.toList()
            val provider = connectProvider
            val configure: WebSocketClientBuilder.() -> Unit = {
                all.forEach { it() }
                if (provider != null) {
                    connectWith { ctx: ConnectContext -> provider.provide(ctx.attempt, ctx.defaults).await() }
                }
            }
            val config = webSocketClient(url, configure).config
            return TetherClient(
                configure, url, listener, executor, errorHandler, disconnectHandler,
                config.incomingBuffer.capacity,
            )
        }
    }
}
