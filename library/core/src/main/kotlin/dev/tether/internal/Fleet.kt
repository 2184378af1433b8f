package dev.tether.internal

import java.util.concurrent.atomic.AtomicReference
import kotlin.time.ComparableTimeMark
import kotlin.time.Duration

/**
 * What the connections of one [dev.tether.WebSocketClient] share about their server: a `Retry-After` that one of
 * them received (503, 429) holds back the next attempt of every one of them, not only its own.
 */
internal class Fleet {
    private val notBefore = AtomicReference<ComparableTimeMark?>()

    /** Records that the server asked for [retryAfter] from [now]. */
    fun holdOff(now: ComparableTimeMark, retryAfter: Duration) {
        val until = now + retryAfter
        while (true) {
            val cur = notBefore.get()
            if (cur != null && cur >= until) return
            if (notBefore.compareAndSet(cur, until)) return
        }
    }

    /** How long an attempt must still wait for the server's `Retry-After` (zero if none is in force). */
    fun wait(): Duration {
        val until = notBefore.get() ?: return Duration.ZERO
        return (-until.elapsedNow()).coerceAtLeast(Duration.ZERO)
    }
}
