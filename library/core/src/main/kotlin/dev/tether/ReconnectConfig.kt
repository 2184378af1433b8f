package dev.tether

import dev.tether.internal.KotlinOnly
import kotlin.random.Random
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * The validated reconnect settings of a client (built by [ReconnectBuilder]). Immutable.
 *
 * @property enabled false turns the default decisions into [Decision.Close] / terminal: the first disconnect or
 *   connect failure ends the client (hooks may still return [Decision.Reconnect] explicitly).
 * @property backoff the delay schedule.
 * @property maxAttempts the reconnect attempts allowed in one streak before giving up, or null for unlimited.
 * @property stableAfter how long a connection must stay up before the attempt count goes back to zero.
 * @property random the source of jitter (inject a seeded one in tests).
 * @property delays a custom schedule replacing [backoff], or null.
 */
public class ReconnectConfig internal constructor(
    public val enabled: Boolean,
    public val backoff: Backoff,
    public val maxAttempts: Int?,
    public val stableAfter: Duration,
    public val random: Random,
    public val delays: ((attempt: Int) -> Duration)?,
    /** The circuit breaker: more than this many failed connect attempts within [circuitWindow] goes `Down`; null: off. */
    public val circuitFailures: Int? = null,
    /** The circuit breaker's window. */
    public val circuitWindow: Duration = Duration.ZERO,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    /** The delay before reconnect attempt [attempt] (1-based): the custom schedule if set, else the backoff. */
    public fun delayFor(attempt: Int): Duration = delays?.invoke(attempt) ?: backoff.delay(attempt, random)

    /** [delayFor] with the connection's [Jitter.SPREAD] factor for the current streak. */
    @JvmSynthetic
    internal fun delayFor(attempt: Int, spread: Double): Duration =
        delays?.invoke(attempt) ?: backoff.delay(attempt, random, spread)
}

/** Builds a [ReconnectConfig] inside `reconnect { }`. Every setter validates at once, naming the option. */
@TetherDsl
public class ReconnectBuilder internal constructor(kotlinOnly: KotlinOnly = KotlinOnly()) {
    /** Reconnect at all (default true). */
    public var enabled: Boolean = true

    /** Attempts allowed per streak before the client gives up; null (the default) for unlimited. */
    public var maxAttempts: Int? = null
        set(value) {
            require(value == null || value >= 1) { "reconnect.maxAttempts must be >= 1 or null, was $value" }
            field = value
        }

    /** How long a connection must stay up before the attempt count is reset (default 10 s). */
    public var stableAfter: Duration = 10.seconds
        set(value) {
            require(!value.isNegative()) { "reconnect.stableAfter must not be negative, was $value" }
            field = value
        }

    /** The source of jitter (default [Random.Default]). */
    public var random: Random = Random.Default

    private var delays: ((Int) -> Duration)? = null

    /**
     * Replaces the exponential backoff with any schedule: [schedule] gets the 1-based attempt number and returns the
     * delay before it (e.g. Phoenix's `[10, 50, 100, …] ms then 5 s`). It must be fast and must not throw.
     */
    public fun delays(schedule: (attempt: Int) -> Duration) {
        delays = schedule
    }

    private var initialMs: Long = 250
    private var maxMs: Long = 30_000
    private var factor: Double = 1.5
    private var jitter: Double = 0.2

    /** Exponential backoff: first delay [initialMillis], multiplied by [factor] per attempt, capped at [maxMillis]. */
    public fun backoff(initialMillis: Long, maxMillis: Long, factor: Double) {
        require(initialMillis > 0) { "reconnect.backoff initialMillis must be > 0, was $initialMillis" }
        require(maxMillis >= initialMillis) {
            "reconnect.backoff maxMillis ($maxMillis) must be >= initialMillis ($initialMillis)"
        }
        require(factor >= 1.0 && factor.isFinite()) { "reconnect.backoff factor must be >= 1.0, was $factor" }
        initialMs = initialMillis
        maxMs = maxMillis
        this.factor = factor
    }

    private var mode: Jitter = Jitter.SPREAD
    private var circuitFailures: Int? = null
    private var circuitWindow: Duration = Duration.ZERO

    /**
     * A circuit breaker (off by default): when more than [maxFailures] connect attempts fail within [within], the
     * connection stops retrying and goes `Down` with [dev.tether.TetherException.CircuitOpen] as the cause, instead of
     * retrying for ever; `reconnect()` tries again.
     */
    public fun circuitBreaker(maxFailures: Int, within: Duration) {
        require(maxFailures >= 1) { "reconnect.circuitBreaker maxFailures must be >= 1, was $maxFailures" }
        require(within.isPositive()) { "reconnect.circuitBreaker within must be positive, was $within" }
        circuitFailures = maxFailures
        circuitWindow = within
    }

    /**
     * The behaviour before 0.2: randomize each delay down by up to [fraction] of it ([Jitter.PROPORTIONAL]);
     * 0.0 turns randomness off whatever the mode.
     */
    public fun jitter(fraction: Double) {
        require(fraction in 0.0..1.0) { "reconnect.jitter must be between 0.0 and 1.0, was $fraction" }
        jitter = fraction
        mode = Jitter.PROPORTIONAL
    }

    /** How delays are randomized (default [Jitter.SPREAD], which keeps a fleet's reconnects flat; see [Jitter]). */
    public fun jitter(mode: Jitter) {
        this.mode = mode
        if (jitter == 0.0) jitter = 0.2
    }

    @JvmSynthetic
    internal fun build(): ReconnectConfig = ReconnectConfig(
        enabled = enabled,
        backoff = Backoff(initialMs.milliseconds, maxMs.milliseconds, factor, jitter, mode),
        maxAttempts = maxAttempts,
        stableAfter = stableAfter,
        random = random,
        delays = delays,
        circuitFailures = circuitFailures,
        circuitWindow = circuitWindow,
    )
}
