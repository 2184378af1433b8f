package dev.tether.java.internal

import dev.tether.java.PhoenixReply
import dev.tether.java.PhoenixReply.Status
import dev.tether.phoenix.Message
import dev.tether.phoenix.Payload
import dev.tether.phoenix.Reply

/** Makes [PhoenixReply]s (Kotlin only: the class has no companion that Java could reach). */
internal object PhoenixReplies {
    @JvmSynthetic
    fun of(r: Reply): PhoenixReply = when (r) {
        is Reply.Ok -> make(Status.OK, r.response)
        is Reply.Error -> make(Status.ERROR, r.response)
        Reply.Timeout -> PhoenixReply(Status.TIMEOUT, null, null)
        is Reply.Failed -> PhoenixReply(Status.FAILED, null, null, r.cause)
    }

    private fun make(status: Status, p: Payload) = when (p) {
        is Payload.Json -> PhoenixReply(status, p.json.toString(), null)
        is Payload.Binary -> PhoenixReply(status, null, p.bytes)
    }
}
