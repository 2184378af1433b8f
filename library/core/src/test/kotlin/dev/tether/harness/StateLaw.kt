package dev.tether.harness

import dev.tether.ConnectionEvent

/**
 * The legal sequences of states, by the tables in docs/lifecycle.md, checked on the lossless event stream (the state
 * flow is conflated and may skip states). Events that are not states (frames, pongs, failures to connect, the end of
 * a link) are ignored; a connect failure or a lost link shows in the state that follows it.
 */
object StateLaw {
    private enum class S { START, CONNECTING, CONNECTED, RECONNECTING, DOWN, PAUSED, CLOSING, CLOSED }

    private val legal: Map<S, Set<S>> = mapOf(
        // a gate shut before the first value holds the client before it connects
        S.START to setOf(S.CONNECTING, S.PAUSED, S.CLOSED),
        // an attempt succeeds, fails (a decision: retry, stay down, close) or is cut short by close() or a hold
        S.CONNECTING to setOf(S.CONNECTED, S.RECONNECTING, S.DOWN, S.CLOSED, S.PAUSED),
        // a link ends: reconnect(), a decision, a close, a hold (after a graceful close, the state staying Connected)
        S.CONNECTED to setOf(S.RECONNECTING, S.DOWN, S.CLOSING, S.CLOSED, S.PAUSED),
        // the delay ends or reconnect() cuts it short; close(); a hold; a circuit breaker opening
        S.RECONNECTING to setOf(S.CONNECTING, S.CLOSED, S.PAUSED, S.DOWN),
        S.DOWN to setOf(S.CONNECTING, S.CLOSED, S.PAUSED),
        // resume() or the gate opening connects at once; what holds it may change (pause() under a shut gate, then
        // resume() while the gate stays shut): Paused again with the other reason
        S.PAUSED to setOf(S.CONNECTING, S.CLOSED, S.PAUSED),
        S.CLOSING to setOf(S.CLOSED),
        S.CLOSED to emptySet(),
    )

    private fun stateOf(e: ConnectionEvent): Pair<S, Int?>? = when (e) {
        is ConnectionEvent.Connecting -> S.CONNECTING to e.attempt
        is ConnectionEvent.Connected -> S.CONNECTED to null
        is ConnectionEvent.ReconnectScheduled -> S.RECONNECTING to e.attempt
        is ConnectionEvent.Down -> S.DOWN to null
        is ConnectionEvent.Paused -> S.PAUSED to null
        is ConnectionEvent.Closing -> S.CLOSING to null
        is ConnectionEvent.Closed -> S.CLOSED to null
        else -> null
    }

    /** Every illegal step in [events] (empty when the sequence is legal), and whether it ended with one `Closed`. */
    fun violations(events: List<ConnectionEvent>): List<String> {
        val problems = ArrayList<String>()
        var now = S.START
        var scheduled: Int? = null // the attempt a ReconnectScheduled announced
        var pausedFor: dev.tether.PauseReason? = null
        for ((i, e) in events.withIndex()) {
            if (e is ConnectionEvent.EventsDropped) problems += "event $i: ${e.count} events dropped (the harness's collector fell behind)"
            val (next, attempt) = stateOf(e) ?: continue
            if (next !in legal.getValue(now)) problems += "event $i: $now -> $next is not a legal transition ($e)"
            if (now == S.PAUSED && e is ConnectionEvent.Paused && e.reason == pausedFor) problems += "event $i: Paused(${e.reason}) told twice"
            pausedFor = (e as? ConnectionEvent.Paused)?.reason
            if (next == S.CONNECTING) {
                val expected = when (now) {
                    S.RECONNECTING -> scheduled
                    S.START, S.DOWN, S.PAUSED -> 0
                    else -> null
                }
                if (expected != null && attempt != expected) problems += "event $i: Connecting($attempt) after $now (expected attempt $expected)"
            }
            scheduled = if (next == S.RECONNECTING) attempt else scheduled
            now = next
        }
        if (now != S.CLOSED) problems += "the events end in $now, not Closed"
        val closed = events.count { it is ConnectionEvent.Closed }
        if (closed > 1) problems += "$closed Closed events"
        return problems
    }
}
