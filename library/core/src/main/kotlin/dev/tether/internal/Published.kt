package dev.tether.internal

import dev.tether.ConnectionState
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow

/**
 * What the supervisor (`tether-connection`, [Supervisor] and [RealConnection.finish]) alone writes and the other
 * pieces read: the state, the epoch, the live session and whether the client has terminated. Every field has that one
 * writer; readers on any thread see it through a [StateFlow] or a volatile field, never a lock.
 */
internal class Published(private val events: ConnectionEvents) {
    /** The state before the first attempt; the first attempt reuses it, so the state flow tells it once. */
    val initial: ConnectionState get() = INITIAL

    private val flow = MutableStateFlow(INITIAL)

    /** The state, conflated, for `Connection.state`. */
    val state: StateFlow<ConnectionState> = flow.asStateFlow()

    /** The current state (any thread). */
    val current: ConnectionState get() = flow.value

    /**
     * Every transition: the event stream (never conflated) first, then the state flow (conflated), so that whoever
     * starts collecting events after seeing a state never gets that state's event late. The supervisor's coroutines
     * only (the session's closing step included, which runs while the supervisor waits for it).
     */
    fun set(s: ConnectionState) {
        events.state(s)
        flow.value = s
    }

    /** Bumped when a session starts and when it ends; hook decisions carry the one they were taken in. */
    @Volatile
    var epoch: Int = 0

    /** The running session while connected, for sends that can be written at once ([SendPath]). */
    @Volatile
    var live: SessionRunner? = null

    /** Set once at the end ([RealConnection.finish]): from here on every send fails with `CLOSED`. */
    @Volatile
    var terminated: Boolean = false

    private companion object {
        /** One instance for every connection (states are immutable): a later `Connecting(0)` is never this one. */
        val INITIAL: ConnectionState = ConnectionState.Connecting(0)
    }
}
