package dev.tether.internal

import kotlin.time.ComparableTimeMark
import kotlin.time.Duration
import kotlin.time.TimeSource

/**
 * The circuit breaker (`reconnect { circuitBreaker(failures, window) }`): it opens when more than [maxFailures] connect
 * attempts failed within the sliding [window]; null [maxFailures]: never. The supervisor's only (one coroutine, no
 * locking).
 */
internal class CircuitBreaker(
    private val maxFailures: Int?,
    private val window: Duration,
    private val timeSource: TimeSource.WithComparableMarks,
) {
    /** When the attempts within the window failed, oldest first. */
    private val failures = ArrayDeque<ComparableTimeMark>()

    /**
     * Records a failed attempt. Returns how many failed within the window when this one opens the breaker (which then
     * starts counting afresh), else null.
     */
    fun failed(): Int? {
        val max = maxFailures ?: return null
        failures.addLast(timeSource.markNow())
        while (failures.isNotEmpty() && failures.first().elapsedNow() > window) failures.removeFirst()
        if (failures.size <= max) return null
        return failures.size.also { failures.clear() }
    }
}
