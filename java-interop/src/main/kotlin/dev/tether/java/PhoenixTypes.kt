package dev.tether.java

import dev.tether.java.internal.KotlinOnly
import dev.tether.phoenix.Message
import dev.tether.phoenix.Payload
import dev.tether.phoenix.Reply

/** A Phoenix reply, for Java: [status], and the response as JSON text or bytes. Immutable. */
public class PhoenixReply internal constructor(
    /** OK, ERROR, TIMEOUT or FAILED. */
    public val status: Status,
    /** The response as JSON text (null for a binary response, a timeout or a failure). */
    public val responseJson: String?,
    private val bytes: ByteArray?,
    /** Why the push was not sent or written ([Status.FAILED]), else null. */
    public val failure: dev.tether.TetherException? = null,
    kotlinOnly: KotlinOnly = KotlinOnly(),
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

}

/** A Phoenix message, for Java: the payload as JSON text or bytes. Immutable. */
public class PhoenixMessage internal constructor(
    /** The topic. */
    public val topic: String,
    /** The event. */
    public val event: String,
    /** The payload as JSON text, or null for a binary payload. */
    public val payloadJson: String?,
    private val bytes: ByteArray?,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    /** A copy of a binary payload, or null. */
    public fun payloadBytes(): ByteArray? = bytes?.copyOf()

    override fun toString(): String = "PhoenixMessage($topic $event ${payloadJson ?: "${bytes?.size} bytes"})"

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
