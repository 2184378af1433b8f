package dev.tether.internal

import dev.tether.ConnectionEvent
import dev.tether.ConnectionState
import dev.tether.FrameKind
import dev.tether.engine.EngineFrame
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.SharedFlow

/**
 * One connection's event stream (see [dev.tether.Connection.events]): a hot flow that never blocks the connection.
 * A collector more than [capacity] events behind misses the newest ones, counted, and gets
 * [ConnectionEvent.EventsDropped] before the next one it receives. With no collector, nothing is made at all (frame
 * events are the hot path: they cost one read of the subscriber count then).
 */
internal class ConnectionEvents(private val id: String, capacity: Int) {
    private val flow = MutableSharedFlow<ConnectionEvent>(extraBufferCapacity = capacity)
    private var dropped = 0L // guarded by flow

    val events: SharedFlow<ConnectionEvent> get() = flow

    /** Read once: `subscriptionCount` locks the flow on every call, and [watched] is asked per frame. */
    private val subscribers = flow.subscriptionCount

    val watched: Boolean get() = subscribers.value > 0

    fun emit(make: (String) -> ConnectionEvent) {
        if (!watched) return
        val e = make(id)
        synchronized(flow) {
            if (dropped > 0) {
                if (flow.tryEmit(ConnectionEvent.EventsDropped(id, dropped))) dropped = 0 else {
                    dropped++
                    return
                }
            }
            if (!flow.tryEmit(e)) dropped++
        }
    }

    /** The event that tells [state] (Reconnecting is told as ReconnectScheduled). */
    fun state(state: ConnectionState) {
        emit { id ->
            when (state) {
                is ConnectionState.Connecting -> ConnectionEvent.Connecting(id, state.attempt)
                is ConnectionState.Connected -> ConnectionEvent.Connected(id, state.attempt, state.handshake)
                is ConnectionState.Reconnecting -> ConnectionEvent.ReconnectScheduled(id, state.attempt, state.delay, state.cause)
                is ConnectionState.Paused -> ConnectionEvent.Paused(id, state.reason)
                is ConnectionState.Down -> ConnectionEvent.Down(id, state.cause)
                is ConnectionState.Closing -> ConnectionEvent.Closing(id, state.code, state.reason)
                is ConnectionState.Closed -> ConnectionEvent.Closed(id, state.code, state.reason, state.cause)
            }
        }
    }

    fun frame(out: Boolean, f: EngineFrame) {
        if (!watched) return
        val kind = when (f.opcode) {
            EngineFrame.TEXT -> FrameKind.TEXT
            EngineFrame.BINARY -> FrameKind.BINARY
            EngineFrame.CLOSE -> FrameKind.CLOSE
            EngineFrame.PING -> FrameKind.PING
            EngineFrame.PONG -> FrameKind.PONG
            else -> FrameKind.CONTINUATION
        }
        val size = f.data.size
        emit { id -> if (out) ConnectionEvent.FrameOut(id, kind, size) else ConnectionEvent.FrameIn(id, kind, size) }
    }
}
