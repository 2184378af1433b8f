package dev.tether.java

import dev.tether.ConnectionEvent
import dev.tether.FrameKind
import dev.tether.TetherException
import dev.tether.java.internal.KotlinOnly
import kotlin.time.toJavaDuration

/**
 * One event of a connection, for Java (see `dev.tether.ConnectionEvent` for the meaning of each [kind]). Only the
 * fields of its kind are set; the others are null or 0. Immutable; users only receive these.
 */
public class ConnectionEventInfo internal constructor(
    /** What happened. */
    public val kind: Kind,
    /** The connection's id. */
    public val connectionId: String,
    /** The attempt (CONNECTING, CONNECTED, CONNECT_FAILED, RECONNECT_SCHEDULED), or 0. */
    public val attempt: Int,
    /** The delay before the next attempt (RECONNECT_SCHEDULED), or null. */
    public val delay: java.time.Duration?,
    /** How the connection ended (DISCONNECTED), or null. */
    public val disconnect: DisconnectInfo?,
    /** The close code (CLOSING, CLOSED), or 0. */
    public val code: Int,
    /** The close reason (CLOSING, CLOSED) or the pause reason (PAUSED), or null. */
    public val reason: String?,
    /** The error (CONNECT_FAILED; the cause of RECONNECT_SCHEDULED, DOWN, CLOSED), or null. */
    public val error: TetherException?,
    /** The frame's kind (FRAME_IN, FRAME_OUT), or null. */
    public val frameKind: FrameKind?,
    /** The frame's payload size in bytes (FRAME_IN, FRAME_OUT), or 0. */
    public val size: Int,
    /** The keepalive round trip (PONG, when it answers Tether's ping), or null. */
    public val rtt: java.time.Duration?,
    /** Why a send failed (SEND_FAILED), or null. */
    public val sendFailure: TetherException.SendFailure?,
    /** How many events this listener missed (EVENTS_DROPPED), or 0. */
    public val dropped: Long,
    /** Frames queued and not yet written (OUTBOX_DEPTH), or 0. */
    public val depth: Int,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    /** The kinds of events. */
    public enum class Kind {
        CONNECTING, CONNECTED, CONNECT_FAILED, DISCONNECTED, RECONNECT_SCHEDULED, PAUSED, DOWN, CLOSING, CLOSED,
        FRAME_IN, FRAME_OUT, PONG, SEND_FAILED, OUTBOX_DEPTH, EVENTS_DROPPED,
    }

    /**
     * The kind and the details of its kind, for logs: `ConnectionEventInfo(DISCONNECTED 4000 "bye" by server after
     * 21 ms)`, `ConnectionEventInfo(RECONNECT_SCHEDULED attempt=1 in 250 ms)`, `ConnectionEventInfo(CONNECT_FAILED
     * attempt=2: ConnectFailed: connect to ws://host/feed failed: REFUSED)`. URLs in errors are redacted as in logs.
     */
    override fun toString(): String = buildString {
        append("ConnectionEventInfo(").append(kind)
        when (kind) {
            Kind.CONNECTING, Kind.CONNECTED, Kind.CONNECT_FAILED -> append(" attempt=").append(attempt)
            Kind.RECONNECT_SCHEDULED -> append(" attempt=").append(attempt).append(" in ").append(readable(delay))
            Kind.DISCONNECTED -> disconnect?.let { d ->
                append(' ').append(d.code)
                if (d.reason.isNotEmpty()) append(" \"").append(d.reason).append('"')
                append(if (d.byServer) " by server" else " by client").append(" after ").append(readable(d.uptime))
            }
            Kind.PAUSED -> append(' ').append(reason)
            Kind.CLOSING, Kind.CLOSED -> {
                append(' ').append(code)
                if (!reason.isNullOrEmpty()) append(" \"").append(reason).append('"')
            }
            Kind.FRAME_IN, Kind.FRAME_OUT -> append(' ').append(frameKind).append(' ').append(size).append(" B")
            Kind.PONG -> append(" rtt=").append(rtt?.let(::readable) ?: "none")
            Kind.SEND_FAILED -> append(' ').append(sendFailure)
            Kind.OUTBOX_DEPTH -> append(" depth=").append(depth)
            Kind.EVENTS_DROPPED -> append(" dropped=").append(dropped)
            Kind.DOWN -> Unit
        }
        error?.let { append(": ").append(it.javaClass.simpleName).append(": ").append(it.message) }
        append(')')
    }

}

/** [d] as people read it in a log: `21 ms`, `1.5 s`, `2 min 5 s`. */
private fun readable(d: java.time.Duration?): String = when {
    d == null -> "none"
    d.toMillis() < 1000 -> "${d.toMillis()} ms"
    d.toMillis() < 60_000 -> "%.1f s".format(java.util.Locale.ROOT, d.toMillis() / 1000.0).replace(".0 s", " s")
    else -> "${d.toMinutes()} min ${d.toSecondsPart()} s".replace(" 0 s", "")
}

/** Receives a connection's events (see [TetherConnection.addEventListener]). */
public fun interface ConnectionEventListener {
    /** One event; called on the callback executor, one at a time, in order. */
    public fun onEvent(event: ConnectionEventInfo)
}
