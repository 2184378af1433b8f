package dev.tether.internal

import kotlin.time.ComparableTimeMark
import kotlin.time.TimeSource

/**
 * Application traffic, for `idleTimeout` (a connection without one has no [Activity] and pays nothing): when a message
 * was last sent or received. Seeing traffic ends an idle pause ([Control.activity]). Written by any sender and by the
 * session's reader ([seen]); read by the session's idle watch ([last]). One volatile field: the latest write wins,
 * which is all the idle watch needs.
 */
internal class Activity(
    private val timeSource: TimeSource.WithComparableMarks,
    private val control: Control,
) {
    /** When the application last sent or received a message; null before the first. */
    @Volatile
    var last: ComparableTimeMark? = null
        private set

    /** Records traffic now, and ends an idle pause. Any thread. */
    fun seen() {
        last = timeSource.markNow()
        control.activity()
    }
}
