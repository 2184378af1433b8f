package dev.tether.java.internal

import dev.tether.TetherException
import dev.tether.java.PhoenixEventInfo
import dev.tether.java.PhoenixEventInfo.Kind
import dev.tether.java.PhoenixReply
import dev.tether.phoenix.PhoenixEvent
import kotlin.time.toJavaDuration

/** Makes [PhoenixEventInfo]s (Kotlin only: the class has no companion that Java could reach). */
internal object PhoenixEventInfos {
    @JvmSynthetic
    fun of(e: PhoenixEvent): PhoenixEventInfo {
        fun make(
            kind: Kind, topic: String? = null, attempt: Int = 0, delay: java.time.Duration? = null, code: Int = 0,
            reason: String? = null, byServer: Boolean = false, error: TetherException? = null, joinRef: String? = null,
            rejoin: Boolean = false, reply: PhoenixReply? = null, dropped: Long = 0,
        ) = PhoenixEventInfo(kind, topic, attempt, delay, code, reason, byServer, error, joinRef, rejoin, reply, dropped)
        return when (e) {
            is PhoenixEvent.Opened -> make(Kind.OPENED, attempt = e.attempt)
            is PhoenixEvent.Closed -> make(Kind.CLOSED, code = e.code, reason = e.reason, byServer = e.byServer, error = e.cause)
            is PhoenixEvent.ConnectFailed -> make(Kind.CONNECT_FAILED, error = e.error)
            is PhoenixEvent.ReconnectScheduled -> make(Kind.RECONNECT_SCHEDULED, attempt = e.attempt, delay = e.delay.toJavaDuration())
            is PhoenixEvent.Error -> make(Kind.ERROR, error = e.error)
            is PhoenixEvent.Terminated -> make(Kind.TERMINATED, code = e.code, reason = e.reason)
            is PhoenixEvent.Joining -> make(Kind.JOINING, e.topic, joinRef = e.joinRef, rejoin = e.rejoin)
            is PhoenixEvent.Joined ->
                make(Kind.JOINED, e.topic, joinRef = e.joinRef, rejoin = e.rejoin, reply = PhoenixReplies.of(dev.tether.phoenix.Reply.Ok(e.response)))
            is PhoenixEvent.Errored -> make(Kind.ERRORED, e.topic, reason = e.reason, reply = e.reply?.let { PhoenixReplies.of(it) })
            is PhoenixEvent.Left -> make(Kind.LEFT, e.topic, byServer = e.byServer)
            is PhoenixEvent.EventsDropped -> make(Kind.EVENTS_DROPPED, dropped = e.count)
        }
    }
}
