package dev.tether

import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.doubles.shouldBeLessThan
import io.kotest.matchers.longs.shouldBeInRange
import io.kotest.matchers.shouldBe
import kotlin.random.Random
import kotlin.time.Duration.Companion.milliseconds

/**
 * A reconnect storm, simulated (no sockets, no clock: the delays the backoff draws are summed): [clients] clients
 * lose their server at t = 0 and keep retrying on [backoff]; the server is back at [upAtMs], and each client's first
 * attempt after that succeeds. Returns the server's peak arrivals per 100 ms divided by the mean over the whole
 * recovery (from the server's return to the last client's arrival).
 */
private fun stormPeakToMean(backoff: Backoff, clients: Int, upAtMs: Long, seed: Int = 1): Double {
    val random = Random(seed)
    val arrivals = LongArray(clients)
    for (c in 0 until clients) {
        val spread = backoff.drawSpread(random)
        var t = 0L
        var n = 1
        while (true) {
            t += backoff.delay(n, random, spread).inWholeMilliseconds
            if (t >= upAtMs) break
            n++
        }
        arrivals[c] = t
    }
    val last = arrivals.max()
    val windows = maxOf(1L, (last - upAtMs + 100) / 100).toInt()
    val counts = IntArray(windows)
    for (a in arrivals) counts[minOf(windows - 1, ((a - upAtMs) / 100).toInt())]++
    return counts.max().toDouble() / (clients.toDouble() / windows)
}

class BackoffStormTest : FunSpec({
    val spread = Backoff.DEFAULT
    val old = Backoff(250.milliseconds, 30_000.milliseconds, 1.5, 0.2, Jitter.PROPORTIONAL)

    context("100 000 clients lose their server at once: the default keeps the server's peak within 2x of the mean") {
        withData(0L, 1_000L, 5_000L, 30_000L) { upAt ->
            stormPeakToMean(spread, 100_000, upAt) shouldBeLessThan 2.0
        }
    }

    test("the behaviour before (80-100 % jitter) does not: the test can tell") {
        stormPeakToMean(old, 100_000, 1_000L) shouldBeGreaterThan 2.0
        stormPeakToMean(old, 100_000, 5_000L) shouldBeGreaterThan 2.0
    }

    test("SPREAD: the first delay of a streak in [0, d1], then d(n) times the client's own factor in [0.5, 1]") {
        val random = Random(7)
        repeat(1_000) {
            val s = spread.drawSpread(random)
            spread.delay(1, random, s).inWholeMilliseconds shouldBeInRange 0L..250L
            spread.delay(3, random, s) shouldBe (562 * s).toLong().milliseconds // 250 * 1.5^2 (562 ms), no fresh draw
            spread.delay(30, random, s).inWholeMilliseconds shouldBeInRange 15_000L..30_000L // never above the cap
        }
    }

    test("FULL: every delay in [0, d(n)]") {
        val full = Backoff(250.milliseconds, 30_000.milliseconds, 1.5, 0.2, Jitter.FULL)
        val random = Random(3)
        repeat(1_000) { full.delay(5, random).inWholeMilliseconds shouldBeInRange 0L..1_265L }
    }
})
