package dev.tether.java.internal

import dev.tether.ConnectionEvent
import dev.tether.FrameKind
import dev.tether.TetherException
import dev.tether.java.ConnectionEventInfo
import dev.tether.java.ConnectionEventInfo.Kind
import dev.tether.java.DisconnectInfo
import kotlin.time.toJavaDuration

/** Makes [ConnectionEventInfo]s (Kotlin only: the class has no companion that Java could reach). */
internal object ConnectionEventInfos {
    @JvmSynthetic
    fun of(e: ConnectionEvent): ConnectionEventInfo {
        fun make(
            kind: Kind,
            attempt: Int = 0,
            delay: java.time.Duration? = null,
            disconnect: DisconnectInfo? = null,
            code: Int = 0,
            reason: String? = null,
            error: TetherException? = null,
            frameKind: FrameKind? = null,
            size: Int = 0,
            rtt: java.time.Duration? = null,
            sendFailure: TetherException.SendFailure? = null,
            dropped: Long = 0,
            depth: Int = 0,
        ) = ConnectionEventInfo(kind, e.connectionId, attempt, delay, disconnect, code, reason, error, frameKind, size, rtt, sendFailure, dropped, depth)
        return when (e) {
            is ConnectionEvent.Connecting -> make(Kind.CONNECTING, attempt = e.attempt)
            is ConnectionEvent.Connected -> make(Kind.CONNECTED, attempt = e.attempt)
            is ConnectionEvent.ConnectFailed -> make(Kind.CONNECT_FAILED, attempt = e.attempt, error = e.error)
            is ConnectionEvent.Disconnected -> make(Kind.DISCONNECTED, disconnect = DisconnectInfos.of(e.disconnect))
            is ConnectionEvent.ReconnectScheduled ->
                make(Kind.RECONNECT_SCHEDULED, attempt = e.attempt, delay = e.delay.toJavaDuration(), error = e.cause)
            is ConnectionEvent.Paused -> make(Kind.PAUSED, reason = e.reason.name)
            is ConnectionEvent.Down -> make(Kind.DOWN, error = e.cause)
            is ConnectionEvent.Closing -> make(Kind.CLOSING, code = e.code, reason = e.reason)
            is ConnectionEvent.Closed -> make(Kind.CLOSED, code = e.code, reason = e.reason, error = e.cause)
            is ConnectionEvent.FrameIn -> make(Kind.FRAME_IN, frameKind = e.kind, size = e.size)
            is ConnectionEvent.FrameOut -> make(Kind.FRAME_OUT, frameKind = e.kind, size = e.size)
            is ConnectionEvent.Pong -> make(Kind.PONG, rtt = e.rtt?.toJavaDuration())
            is ConnectionEvent.SendFailed -> make(Kind.SEND_FAILED, sendFailure = e.reason)
            is ConnectionEvent.OutboxDepth -> make(Kind.OUTBOX_DEPTH, depth = e.depth)
            is ConnectionEvent.EventsDropped -> make(Kind.EVENTS_DROPPED, dropped = e.count)
        }
    }
}
