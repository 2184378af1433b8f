package dev.tether.phoenix

import dev.tether.TetherDsl
import dev.tether.WebSocketClientBuilder
import kotlinx.serialization.json.Json
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/** The immutable configuration of a [PhoenixSocket]; built by [phoenixSocket]. */
public class PhoenixSocketConfig internal constructor(
    /** The endpoint without `/websocket`, e.g. `ws://127.0.0.1:4000/socket`. */
    public val endpoint: String,
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
    internal val tether: WebSocketClientBuilder.() -> Unit,
    internal val onDecodeError: (Throwable) -> Unit,
)

/**
 * Builds a [PhoenixSocketConfig] inside `phoenixSocket(endpoint) { … }`. Setters validate at once and name the
 * option on failure. Not thread-safe: use it inside the block only.
 */
@TetherDsl
public class PhoenixSocketBuilder internal constructor(private val endpoint: String) {
    private var params: suspend () -> Map<String, String> = { emptyMap() }
    private var reconnectAfter: (Int) -> Duration = PhoenixDefaults.RECONNECT
    private var rejoinAfter: (Int) -> Duration = PhoenixDefaults.REJOIN
    private var tether: WebSocketClientBuilder.() -> Unit = {}
    private var onDecodeError: (Throwable) -> Unit = {}

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

    /** The socket reconnect schedule as a Tether exponential backoff. */
    public fun reconnectWithBackoff(initialMillis: Long, maxMillis: Long, factor: Double) {
        val b = dev.tether.Backoff(initialMillis.milliseconds, maxMillis.milliseconds, factor, 0.2)
        reconnectAfter = { b.delay(it) }
    }

    /** The channel rejoin schedule as any function of the attempt (1-based). */
    public fun rejoinAfter(schedule: (attempt: Int) -> Duration) {
        rejoinAfter = schedule
    }

    /** Transport options for the underlying Tether client (headers, timeouts, limits, logging, TLS). */
    public fun tether(block: WebSocketClientBuilder.() -> Unit) {
        tether = block
    }

    /** Called with every frame from the server that cannot be decoded; the socket carries on. */
    public fun onDecodeError(hook: (Throwable) -> Unit) {
        onDecodeError = hook
    }

    internal fun build(): PhoenixSocketConfig {
        require(endpoint.startsWith("ws://") || endpoint.startsWith("wss://")) {
            "endpoint must start with ws:// or wss://, was \"$endpoint\""
        }
        require(!endpoint.contains('?')) { "endpoint must not have a query; use params { }" }
        return PhoenixSocketConfig(
            endpoint.trimEnd('/'), params, heartbeatInterval, heartbeatTimeout ?: heartbeatInterval, pushTimeout,
            reconnectAfter, rejoinAfter, json, tether, onDecodeError,
        )
    }
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
