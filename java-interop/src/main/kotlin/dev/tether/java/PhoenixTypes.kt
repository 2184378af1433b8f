package dev.tether.java

import dev.tether.phoenix.Message
import dev.tether.phoenix.Payload
import dev.tether.phoenix.Reply

/** A Phoenix reply, for Java: [status], and the response as JSON text or bytes. Immutable. */
public class PhoenixReply private constructor(
    /** OK, ERROR, TIMEOUT or FAILED. */
    public val status: Status,
    /** The response as JSON text (null for a binary response, a timeout or a failure). */
    public val responseJson: String?,
    private val bytes: ByteArray?,
    /** Why the push was not sent or written ([Status.FAILED]), else null. */
    public val failure: dev.tether.TetherException? = null,
) {
    /**
     * The outcome of a join, leave or push: the server's `ok` or `error`, no reply in time, or FAILED when it could
     * not be sent or written (see [failure]).
     */
    public enum class Status { OK, ERROR, TIMEOUT, FAILED }

    /** True for [Status.OK]. */
    public fun isOk(): Boolean = status == Status.OK

    /** A copy of a binary response, or null. */
    public fun responseBytes(): ByteArray? = bytes?.copyOf()

    override fun toString(): String =
        "PhoenixReply($status, ${responseJson ?: bytes?.let { "${it.size} bytes" } ?: failure?.message})"

    internal companion object {
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
}

/** A Phoenix message, for Java: the payload as JSON text or bytes. Immutable. */
public class PhoenixMessage private constructor(
    /** The topic. */
    public val topic: String,
    /** The event. */
    public val event: String,
    /** The payload as JSON text, or null for a binary payload. */
    public val payloadJson: String?,
    private val bytes: ByteArray?,
) {
    /** A copy of a binary payload, or null. */
    public fun payloadBytes(): ByteArray? = bytes?.copyOf()

    override fun toString(): String = "PhoenixMessage($topic $event ${payloadJson ?: "${bytes?.size} bytes"})"

    internal companion object {
        @JvmSynthetic
        fun of(m: Message): PhoenixMessage = when (val p = m.payload) {
            is Payload.Json -> PhoenixMessage(m.topic, m.event, p.json.toString(), null)
            is Payload.Binary -> PhoenixMessage(m.topic, m.event, null, p.bytes)
        }
    }
}

/** Receives a channel's messages, on the callback executor. */
public fun interface MessageListener {
    public fun onMessage(message: PhoenixMessage)
}

/** Receives a channel's presence changes, on the callback executor; metas are JSON text. */
public interface PresenceListener {
    /** [key] gained [joined] metas. */
    public fun onJoin(key: String, joined: List<String>) {}

    /** [key] lost [left] metas. */
    public fun onLeave(key: String, left: List<String>) {}

    /** The presence list after a state or diff: key → metas. */
    public fun onSync(presences: @JvmSuppressWildcards Map<String, List<String>>) {}
}
