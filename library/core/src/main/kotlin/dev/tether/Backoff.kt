package dev.tether

import kotlin.math.pow
import kotlin.random.Random
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds

/**
 * Exponential backoff as a pure function: the delay before reconnect attempt `n` (1-based) is
 * `min(max, initial * factor^(n-1))`, then jittered: with [jitter] `j`, the delay is drawn uniformly from
 * `[d * (1 - j), d]` ("equal jitter" when j = 0.5, none when j = 0). The cap applies before jitter, so no delay
 * ever exceeds [max].
 *
 * Immutable and thread-safe (the [Random] you pass must be, too; the default is).
 */
public class Backoff(
    public val initial: Duration,
    public val max: Duration,
    public val factor: Double,
    public val jitter: Double,
) {
    init {
        require(initial.isPositive()) { "backoff.initial must be positive, was $initial" }
        require(max >= initial) { "backoff.max ($max) must be at least backoff.initial ($initial)" }
        require(factor >= 1.0 && factor.isFinite()) { "backoff.factor must be a finite number >= 1.0, was $factor" }
        require(jitter in 0.0..1.0) { "backoff.jitter must be between 0.0 and 1.0, was $jitter" }
    }

    /** The delay before attempt [attempt] (1-based) without jitter. */
    public fun baseDelay(attempt: Int): Duration {
        require(attempt >= 1) { "attempt must be >= 1, was $attempt" }
        val ms = initial.inWholeMilliseconds * factor.pow(attempt - 1)
        val capped = if (ms.isNaN() || ms > max.inWholeMilliseconds) max.inWholeMilliseconds.toDouble() else ms
        return capped.toLong().milliseconds
    }

    /** The delay before attempt [attempt] (1-based), with jitter drawn from [random]. */
    public fun delay(attempt: Int, random: Random = Random.Default): Duration {
        val base = baseDelay(attempt)
        if (jitter == 0.0) return base
        val ms = base.inWholeMilliseconds
        val low = (ms * (1.0 - jitter)).toLong()
        return (if (ms > low) random.nextLong(low, ms + 1) else ms).milliseconds
    }

    override fun toString(): String = "Backoff(initial=$initial, max=$max, factor=$factor, jitter=$jitter)"

    public companion object {
        /** Tether's default: 250 ms, ×1.5 per attempt, capped at 30 s, with 20 % jitter. */
        public val DEFAULT: Backoff = Backoff(250.milliseconds, 30_000.milliseconds, 1.5, 0.2)
    }
}
