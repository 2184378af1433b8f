package dev.tether.phoenix

import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull

/**
 * A payload: JSON (text frames) or raw bytes (binary frames). Immutable; compared by content.
 *
 * Closed: Phoenix payloads are JSON or binary, and no new subtypes will be added.
 */
public sealed class Payload {
    /** A JSON payload. */
    public class Json(public val json: JsonElement) : Payload() {
        override fun equals(other: Any?): Boolean = other is Json && other.json == json
        override fun hashCode(): Int = json.hashCode()
        override fun toString(): String = json.toString()
    }

    /** A binary payload (a copy of the bytes you pass). */
    public class Binary(bytes: ByteArray) : Payload() {
        @get:JvmSynthetic
        internal val data: ByteArray = bytes.copyOf()

        /** A copy of the bytes. */
        public val bytes: ByteArray get() = data.copyOf()
        override fun equals(other: Any?): Boolean = other is Binary && other.data.contentEquals(data)
        override fun hashCode(): Int = data.contentHashCode()
        override fun toString(): String = "Binary(${data.size} bytes)"
    }

    public companion object {
        /** The empty JSON object `{}`. */
        public val EMPTY: Payload = Json(kotlinx.serialization.json.JsonObject(emptyMap()))

        /** `null` as JSON. */
        public val NULL: Payload = Json(JsonNull)
    }
}

/**
 * A Phoenix message (V2 wire format: `[join_ref, ref, topic, event, payload]`). Immutable.
 *
 * @property joinRef the join reference of the channel the message belongs to, or null (broadcasts).
 * @property ref the message reference (set on pushes and replies), or null.
 */
public class Message(
    public val joinRef: String?,
    public val ref: String?,
    public val topic: String,
    public val event: String,
    public val payload: Payload,
) {
    /** The payload as JSON, or [JsonNull] for a binary payload. */
    public val json: JsonElement get() = (payload as? Payload.Json)?.json ?: JsonNull

    override fun equals(other: Any?): Boolean = other is Message && other.joinRef == joinRef && other.ref == ref &&
        other.topic == topic && other.event == event && other.payload == payload

    override fun hashCode(): Int = listOf(joinRef, ref, topic, event, payload).hashCode()
    override fun toString(): String = "Message($topic $event ref=$ref join_ref=$joinRef $payload)"
}

/** Phoenix's reserved event names. */
public object Events {
    /** A join request (client to server). */
    public const val JOIN: String = "phx_join"

    /** A leave request (client to server). */
    public const val LEAVE: String = "phx_leave"

    /** A reply to a push, join or leave (server to client), payload `{status, response}`. */
    public const val REPLY: String = "phx_reply"

    /** The channel crashed on the server; the client rejoins. */
    public const val ERROR: String = "phx_error"

    /** The server closed the channel; the client does not rejoin. */
    public const val CLOSE: String = "phx_close"

    /** The socket heartbeat on topic `phoenix`. */
    public const val HEARTBEAT: String = "heartbeat"

    /** The full presence state of a channel. */
    public const val PRESENCE_STATE: String = "presence_state"

    /** Presence joins and leaves. */
    public const val PRESENCE_DIFF: String = "presence_diff"
}
