package dev.tether.phoenix

import dev.tether.TetherDsl
import dev.tether.WebSocketClientBuilder
import dev.tether.phoenix.internal.KotlinOnly
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.serialization.json.Json

/** The immutable configuration of a [PhoenixSocket]; built by [phoenixSocket]. */
public class PhoenixSocketConfig internal constructor(
    /** The endpoint without `/websocket`, e.g. `ws://127.0.0.1:4000/socket`. */
    public val endpoint: String,
    @get:JvmSynthetic
    internal val params: suspend () -> Map<String, String>,
    /** Time between heartbeats; zero disables them. */
    public val heartbeatInterval: Duration,
    /** Time a heartbeat reply may take before the connection counts as dead. */
    public val heartbeatTimeout: Duration,
    /** Default push (and join, leave) timeout. */
    public val pushTimeout: Duration,
    /** Delay before socket reconnect attempt n (1-based). */
    public val reconnectAfter: (Int) -> Duration,
    /** Delay before channel rejoin attempt n (1-based). */
    public val rejoinAfter: (Int) -> Duration,
    /** The JSON configuration for payloads. */
    public val json: Json,
    @get:JvmSynthetic
    internal val tether: WebSocketClientBuilder.() -> Unit,
    @get:JvmSynthetic
    internal val onDecodeError: (Throwable) -> Unit,
    @get:JvmSynthetic
    internal val onError: (dev.tether.TetherException) -> Unit,
    /** Messages a channel holds for slow `messages` collectors before its overflow policy applies. */
    public val messageBuffer: Int,
    /** What a full channel message buffer does: DROP_OLDEST (default) or DROP_NEWEST, each drop reported. */
    public val messageOverflow: dev.tether.OverflowPolicy,
    /** Pushes a channel holds while it is not joined; past that a push fails at once (`Reply.Failed`). */
    public val maxQueuedPushes: Int,
    kotlinOnly: KotlinOnly = KotlinOnly(),
)

/**
 * Builds a [PhoenixSocketConfig] inside `phoenixSocket(endpoint) { … }`. Setters validate at once and name the
 * option on failure. Not thread-safe: use it inside the block only.
 */
@TetherDsl
public class PhoenixSocketBuilder internal constructor(
    private val endpoint: String,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    private var params: suspend () -> Map<String, String> = { emptyMap() }
    private var reconnectAfter: (Int) -> Duration = PhoenixDefaults.RECONNECT
    private var rejoinAfter: (Int) -> Duration = PhoenixDefaults.REJOIN
    private val tether = ArrayList<WebSocketClientBuilder.() -> Unit>()
    private var onDecodeError: (Throwable) -> Unit = {}
    private var onError: (dev.tether.TetherException) -> Unit = {}
    private var messageBuffer = 1024
    private var messageOverflow = dev.tether.OverflowPolicy.DROP_OLDEST

    /** Pushes a channel holds while it is not joined (default 10 000); past that a push fails at once. */
    public var maxQueuedPushes: Int = 10_000
        set(value) {
            require(value > 0) { "maxQueuedPushes must be positive, was $value" }
            field = value
        }

    /** Time between heartbeats (default 30 s); zero disables them. */
    public var heartbeatInterval: Duration = 30.seconds
        set(value) {
            require(!value.isNegative()) { "heartbeatInterval must not be negative, was $value" }
            field = value
        }

    /** Time a heartbeat reply may take (default: the interval). */
    public var heartbeatTimeout: Duration? = null
        set(value) {
            require(value == null || value.isPositive()) { "heartbeatTimeout must be positive, was $value" }
            field = value
        }

    /** Default timeout of pushes, joins and leaves (default 10 s). */
    public var pushTimeout: Duration = 10.seconds
        set(value) {
            require(value.isPositive()) { "pushTimeout must be positive, was $value" }
            field = value
        }

    /** The JSON configuration for payloads (default: ignores unknown keys). */
    public var json: Json = Json { ignoreUnknownKeys = true }

    /** Connection params, evaluated before every connect (fresh tokens); sent in the query string. */
    public fun params(provider: suspend () -> Map<String, String>) {
        params = provider
    }

    /** The socket reconnect schedule as any function of the attempt (1-based). */
    public fun reconnectAfter(schedule: (attempt: Int) -> Duration) {
        reconnectAfter = schedule
    }

    /** The socket reconnect schedule as a Tether exponential backoff, randomized like Tether's ([dev.tether.Jitter.SPREAD]). */
    public fun reconnectWithBackoff(initialMillis: Long, maxMillis: Long, factor: Double) {
        val b = dev.tether.Backoff(initialMillis.milliseconds, maxMillis.milliseconds, factor, 0.2)
        val spread = java.util.concurrent.atomic.AtomicReference(1.0) // this socket's factor for the current streak
        reconnectAfter = { n ->
            if (n == 1) spread.set(b.drawSpread())
            b.delay(n, kotlin.random.Random.Default, spread.get())
        }
    }

    /** The channel rejoin schedule as any function of the attempt (1-based). */
    public fun rejoinAfter(schedule: (attempt: Int) -> Duration) {
        rejoinAfter = schedule
    }

    /**
     * Transport options for the underlying Tether client (headers, timeouts, limits, logging, TLS, buffers, pings).
     * Several blocks apply in order. What the Phoenix socket must own is rejected when the socket is built, with a
     * message saying what to use instead: `onText`/`onBinary` (the socket reads every message), `onError`,
     * `onDisconnect` and `reconnect { }` (use [onError], the socket's `events` and [reconnectAfter]), `connectWith` (use
     * [params]) and `offlinePolicy` (channels hold their own pushes).
     */
    public fun tether(block: WebSocketClientBuilder.() -> Unit) {
        tether += block
    }

    /** Called with every frame from the server that cannot be decoded; the socket carries on. */
    public fun onDecodeError(hook: (Throwable) -> Unit) {
        onDecodeError = hook
    }

    /**
     * Called with every non-fatal error: a callback of yours that threw (`HandlerFailed` naming it: `Push.onReply`,
     * `presence.onJoin`...), a frame that is not a Phoenix message (`DecodeFailed`), a message a channel dropped
     * because its buffer was full (`MessageDropped`). The socket and every channel go on. Runs on the socket's
     * serial dispatcher: keep it short; a throw from it is only logged.
     */
    public fun onError(hook: (dev.tether.TetherException) -> Unit) {
        onError = hook
    }

    /**
     * Each channel's buffer between the socket and its `messages` collectors (default 1 024, DROP_OLDEST): a
     * collector that falls this far behind loses messages (each drop reported to [onError]), and never stalls other
     * channels, replies or the heartbeat. [overflow] is DROP_OLDEST or DROP_NEWEST.
     */
    public fun messageBuffer(capacity: Int, overflow: dev.tether.OverflowPolicy = dev.tether.OverflowPolicy.DROP_OLDEST) {
        require(capacity > 0) { "messageBuffer capacity must be positive, was $capacity" }
        require(overflow == dev.tether.OverflowPolicy.DROP_OLDEST || overflow == dev.tether.OverflowPolicy.DROP_NEWEST) {
            "messageBuffer overflow must be DROP_OLDEST or DROP_NEWEST (waiting would stall every channel), was $overflow"
        }
        messageBuffer = capacity
        messageOverflow = overflow
    }

    @JvmSynthetic
    internal fun build(): PhoenixSocketConfig {
        require(endpoint.startsWith("ws://") || endpoint.startsWith("wss://")) {
            "endpoint must start with ws:// or wss://, was ${endpoint.substringBefore(':', "no scheme").take(16)}"
        }
        require(!endpoint.contains('?')) { "endpoint must not have a query; use params { }" }
        val blocks = tether.toList()
        val composed: WebSocketClientBuilder.() -> Unit = { blocks.forEach { it() } }
        checkTether(endpoint.trimEnd('/') + "/websocket", composed)
        return PhoenixSocketConfig(
            endpoint.trimEnd('/'), params, heartbeatInterval, heartbeatTimeout ?: heartbeatInterval, pushTimeout,
            reconnectAfter, rejoinAfter, json, composed, onDecodeError, onError, messageBuffer, messageOverflow,
            maxQueuedPushes,
        )
    }
}

/** Rejects, with a message saying what to use instead, the transport settings a Phoenix socket must own. */
private fun checkTether(url: String, block: WebSocketClientBuilder.() -> Unit) {
    // Phoenix's own setting first: a user block that changes it shows as a difference, even to the usual default
    val mine = dev.tether.webSocketClient(url) { offlinePolicy = dev.tether.OfflinePolicy.REJECT; block() }.config
    val plain = dev.tether.webSocketClient(url).config
    val owned = mine.hooks.defined.intersect(setOf("onText", "onBinary", "onError", "onDisconnect", "onConnect", "onTerminate"))
    require(owned.isEmpty()) {
        "tether { ${owned.joinToString()} } cannot be set on a Phoenix socket: it reads every message, decides " +
            "reconnects and follows opens and closes itself; use channel.messages, onError { } and the socket's events instead"
    }
    require(!mine.hasConnectProvider) { "tether { connectWith } cannot be set on a Phoenix socket: use params { } (evaluated on every connect)" }
    require(mine.offlinePolicy == dev.tether.OfflinePolicy.REJECT) {
        "tether { offlinePolicy } cannot be set on a Phoenix socket: channels hold their own pushes until joined"
    }
    val r = mine.reconnect
    val d = plain.reconnect
    require(
        r.enabled == d.enabled && r.delays == null && r.maxAttempts == d.maxAttempts && r.stableAfter == d.stableAfter &&
            r.backoff.initial == d.backoff.initial && r.backoff.max == d.backoff.max && r.backoff.factor == d.backoff.factor &&
            r.backoff.jitter == d.backoff.jitter,
    ) { "tether { reconnect { } } cannot be set on a Phoenix socket: use reconnectAfter { } or reconnectWithBackoff(...)" }
}

/** phoenix.js's defaults. */
public object PhoenixDefaults {
    private val reconnectSteps = listOf(10L, 50, 100, 150, 200, 250, 500, 1000, 2000)
    private val rejoinSteps = listOf(1000L, 2000, 5000)

    /** `[10, 50, 100, 150, 200, 250, 500, 1000, 2000]` ms, then 5 s. */
    public val RECONNECT: (Int) -> Duration = { n -> (reconnectSteps.getOrNull(n - 1) ?: 5000L).milliseconds }

    /** `[1000, 2000, 5000]` ms, then 10 s. */
    public val REJOIN: (Int) -> Duration = { n -> (rejoinSteps.getOrNull(n - 1) ?: 10_000L).milliseconds }
}

/**
 * Builds a Phoenix socket for [endpoint] (e.g. `ws://127.0.0.1:4000/socket`; `/websocket` and `vsn=2.0.0` are
 * added). Nothing connects until [PhoenixSocket.connect] or [PhoenixSocket.connectIn].
 */
public fun phoenixSocket(endpoint: String, block: PhoenixSocketBuilder.() -> Unit = {}): PhoenixSocket =
    PhoenixSocket(PhoenixSocketBuilder(endpoint).apply(block).build())
