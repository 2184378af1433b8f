package dev.tether

import kotlin.math.pow
import kotlin.random.Random
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds

/**
 * Exponential backoff as a pure function: the base delay before reconnect attempt `n` (1-based) is
 * `d(n) = min(max, initial * factor^(n-1))`, then randomized by [mode] (see [Jitter]; the default, [Jitter.SPREAD],
 * keeps a fleet's reconnects flat after an outage). [jitter] is the fraction [Jitter.PROPORTIONAL] uses: the delay
 * is drawn from `[d * (1 - j), d]`; with j = 0 no mode adds randomness. The cap applies first, so no delay ever
 * exceeds [max].
 *
 * Immutable and thread-safe (the [Random] you pass must be, too; the default is).
 */
public class Backoff(
    public val initial: Duration,
    public val max: Duration,
    public val factor: Double,
    public val jitter: Double,
    /** How delays are randomized (default [Jitter.SPREAD]). */
    public val mode: Jitter = Jitter.SPREAD,
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

    /**
     * The delay before attempt [attempt] (1-based), randomized by [mode] with [random]. [spread] is the client's
     * factor for this streak under [Jitter.SPREAD] (drawn with [drawSpread] when the streak starts); ignored otherwise.
     */
    public fun delay(attempt: Int, random: Random = Random.Default, spread: Double = drawSpread(random)): Duration {
        val base = baseDelay(attempt)
        if (jitter == 0.0) return base
        val ms = base.inWholeMilliseconds
        val drawn = when (mode) {
            Jitter.FULL -> random.nextLong(0, ms + 1)
            Jitter.SPREAD -> if (attempt == 1) random.nextLong(0, ms + 1) else (ms * spread.coerceIn(0.5, 1.0)).toLong()
            Jitter.PROPORTIONAL -> {
                val low = (ms * (1.0 - jitter)).toLong()
                if (ms > low) random.nextLong(low, ms + 1) else ms
            }
        }
        return drawn.milliseconds
    }

    /** A client's [Jitter.SPREAD] factor for one streak: uniform in `[0.5, 1]`. */
    public fun drawSpread(random: Random = Random.Default): Double = 0.5 + random.nextDouble() * 0.5

    override fun toString(): String = "Backoff(initial=$initial, max=$max, factor=$factor, jitter=$jitter, mode=$mode)"

    public companion object {
        /** Tether's default: 250 ms, ×1.5 per attempt, capped at 30 s, [Jitter.SPREAD]. */
        public val DEFAULT: Backoff = Backoff(250.milliseconds, 30_000.milliseconds, 1.5, 0.2)
    }
}
