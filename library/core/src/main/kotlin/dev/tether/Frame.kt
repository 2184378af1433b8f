package dev.tether

import dev.tether.internal.FrameBytes
import java.nio.ByteBuffer

/**
 * A WebSocket frame as Tether hands it to you or takes it from you.
 *
 * Frames are immutable and compared by content. [Text] and [Binary] are whole messages: Tether reassembles
 * fragmented messages and validates them (UTF-8, size limits) before you see them. [Ping], [Pong] and [Close]
 * are control frames; Tether answers pings and runs the closing handshake itself, so you only need them for
 * special cases (custom ping payloads, observing pongs).
 *
 * Frames are safe to share between threads.
 *
 * Closed: these are RFC 6455's frame kinds, and no new subtypes will be added.
 */
public sealed class Frame {
    /**
     * A whole text message. [text] is valid UTF-8 by construction.
     *
     * [compress] matters only when sending over a connection that negotiated permessage-deflate: false sends this
     * message uncompressed whatever its size (for data already compressed, or text that mixes a secret with input an
     * attacker chooses, which compression can leak: CRIME, BREACH). It is not part of equality; received messages
     * have it true.
     */
    public class Text @JvmOverloads constructor(public val text: String, public val compress: Boolean = true) : Frame() {
        override fun equals(other: Any?): Boolean = other is Text && other.text == text
        override fun hashCode(): Int = text.hashCode()
        override fun toString(): String = "Text(${text.length} chars)"
    }

    /**
     * A whole binary message. The bytes are copied on construction, so later changes to your array do not leak in.
     * [compress] false sends it uncompressed even when permessage-deflate is on (see [Text]); not part of equality.
     */
    public class Binary @JvmOverloads constructor(bytes: ByteArray, public val compress: Boolean = true) : Frame() {
        // Set once, right after construction, by Tether's no-copy path (FrameBytes.binaryNoCopy); never changed afterwards.
        @get:JvmSynthetic @set:JvmSynthetic
        internal var data: ByteArray = if (bytes.isEmpty()) FrameBytes.EMPTY else bytes.copyOf()

        /** The payload size in bytes. */
        public val size: Int get() = data.size

        /** A copy of the payload. */
        public fun toByteArray(): ByteArray = data.copyOf()

        /** A read-only view of the payload, without copying. */
        public fun asByteBuffer(): ByteBuffer = ByteBuffer.wrap(data).asReadOnlyBuffer()

        override fun equals(other: Any?): Boolean = other is Binary && other.data.contentEquals(data)
        override fun hashCode(): Int = data.contentHashCode()
        override fun toString(): String = "Binary($size bytes)"
    }

    /** A ping with an optional payload of at most 125 bytes. */
    public class Ping(payload: ByteArray = FrameBytes.EMPTY) : Frame() {
        @get:JvmSynthetic
        internal val data: ByteArray = payload.copyOf().also { FrameBytes.requireControlPayload(it.size, "Ping") }

        /** A copy of the payload. */
        public val payload: ByteArray get() = data.copyOf()
        override fun equals(other: Any?): Boolean = other is Ping && other.data.contentEquals(data)
        override fun hashCode(): Int = data.contentHashCode() + 1
        override fun toString(): String = "Ping(${data.size} bytes)"
    }

    /** A pong with an optional payload of at most 125 bytes. */
    public class Pong(payload: ByteArray = FrameBytes.EMPTY) : Frame() {
        @get:JvmSynthetic
        internal val data: ByteArray = payload.copyOf().also { FrameBytes.requireControlPayload(it.size, "Pong") }

        /** A copy of the payload. */
        public val payload: ByteArray get() = data.copyOf()
        override fun equals(other: Any?): Boolean = other is Pong && other.data.contentEquals(data)
        override fun hashCode(): Int = data.contentHashCode() + 2
        override fun toString(): String = "Pong(${data.size} bytes)"
    }

    /**
     * A close frame. [code] and [reason] are validated as [CloseCodes.requireValid] does.
     * Sending one through [Connection.outgoing] is the same as calling [Connection.close].
     */
    public class Close(public val code: Int, public val reason: String = "") : Frame() {
        init {
            CloseCodes.requireValid(code, reason)
        }

        override fun equals(other: Any?): Boolean = other is Close && other.code == code && other.reason == reason
        override fun hashCode(): Int = code * 31 + reason.hashCode()
        override fun toString(): String = "Close($code, \"$reason\")"
    }

}
