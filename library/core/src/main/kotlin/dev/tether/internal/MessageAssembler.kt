package dev.tether.internal

import dev.tether.CloseCodes
import dev.tether.Frame
import dev.tether.TetherException
import java.io.ByteArrayOutputStream

/**
 * The RFC 6455 rules Tether enforces itself on what the server sends, whatever the engine: RSV bits (frames come
 * here inflated: Tether's own engine handles permessage-deflate and checks RSV1 on the wire, and no other engine
 * negotiates an extension through Tether), control frames (unfragmented, at most 125 bytes), fragment order, strict UTF-8 checked fragment
 * by fragment (unless the engine already did, byte by byte), the message size limit, and close payloads (length,
 * code, UTF-8 reason).
 *
 * Turns raw frames into whole [Frame]s. Not thread-safe: owned by the connection's reader coroutine.
 */
internal class MessageAssembler(
    private val maxFrameSize: Long,
    private val maxMessageSize: Long,
    private val validateUtf8: Boolean = true,
) {
    private var messageOpcode = 0
    private var buffer: ByteArrayOutputStream? = null
    private var first: ByteArray? = null
    private var size = 0L
    private val utf8 = Utf8Validator()

    /**
     * What [raw] completes: a [Frame] (text, binary, ping, pong), a [ReceivedClose], or null while a fragmented
     * message is still arriving.
     * @throws TetherException.ProtocolViolation with the close code to send (1002, or 1007 for invalid UTF-8)
     * @throws TetherException.FrameTooLarge when the reassembled message exceeds the limit (close with 1009)
     */
    fun accept(raw: RawFrame): Any? {
        if (raw.rsv != 0) violation("RSV bits ${raw.rsv} set without a negotiated extension")
        // Tether's engine rejects such a frame on its header, before allocating; this covers engines that read
        // whole frames first (Ktor's, see docs/architecture.md).
        if (raw.data.size > maxFrameSize) {
            reset()
            throw TetherException.FrameTooLarge(raw.data.size.toLong(), maxFrameSize, isFrame = true)
        }
        return when (raw.opcode) {
            RawFrame.PING, RawFrame.PONG, RawFrame.CLOSE -> control(raw)
            RawFrame.TEXT, RawFrame.BINARY -> data(raw)
            else -> violation("reserved opcode ${raw.opcode}")
        }
    }

    private fun control(raw: RawFrame): Any {
        if (!raw.fin) violation("fragmented control frame")
        if (raw.data.size > 125) violation("control frame of ${raw.data.size} bytes (at most 125 allowed)")
        return when (raw.opcode) {
            RawFrame.PING -> Frame.Ping(raw.data)
            RawFrame.PONG -> Frame.Pong(raw.data)
            else -> parseClose(raw.data)
        }
    }

    private fun data(raw: RawFrame): Frame? {
        if (messageOpcode == 0) {
            messageOpcode = raw.opcode
            size = 0
            utf8.reset()
        } else if (raw.opcode != messageOpcode) {
            violation("new data frame before the fragmented message was finished")
        }
        size += raw.data.size
        if (size > maxMessageSize) throw TetherException.FrameTooLarge(size, maxMessageSize)
        if (validateUtf8 && messageOpcode == RawFrame.TEXT && !utf8.feed(raw.data)) {
            reset()
            throw TetherException.ProtocolViolation(CloseCodes.INVALID_PAYLOAD, "text message is not valid UTF-8")
        }
        if (!raw.fin) {
            append(raw.data)
            return null
        }
        val bytes = take(raw.data)
        val opcode = messageOpcode
        if (validateUtf8 && opcode == RawFrame.TEXT && !utf8.isComplete) {
            reset()
            throw TetherException.ProtocolViolation(CloseCodes.INVALID_PAYLOAD, "text message ends inside a UTF-8 sequence")
        }
        reset()
        return if (opcode == RawFrame.TEXT) Frame.Text(String(bytes, Charsets.UTF_8)) else FrameBytes.binaryNoCopy(bytes)
    }

    private fun append(data: ByteArray) {
        val f = first
        when {
            buffer != null -> buffer!!.write(data)
            f == null -> first = data
            else -> buffer = ByteArrayOutputStream(f.size + data.size).also { it.write(f); it.write(data); first = null }
        }
    }

    /** The whole message: no copy when it came in one frame. */
    private fun take(last: ByteArray): ByteArray {
        val b = buffer
        val f = first
        return when {
            b != null -> b.also { it.write(last) }.toByteArray()
            f != null -> f + last
            else -> last
        }
    }

    private fun reset() {
        messageOpcode = 0
        buffer = null
        first = null
        size = 0
    }

    private fun violation(detail: String): Nothing {
        reset()
        throw TetherException.ProtocolViolation(CloseCodes.PROTOCOL_ERROR, detail)
    }

    companion object {
        /** Code reported when a close frame carried no status (RFC 6455 7.1.5); never sent. */
        const val NO_STATUS: Int = 1005

        /** Parses a close payload; the result's code may be [NO_STATUS]. */
        fun parseClose(data: ByteArray): ReceivedClose {
            if (data.isEmpty()) return ReceivedClose(NO_STATUS, "")
            if (data.size == 1) {
                throw TetherException.ProtocolViolation(CloseCodes.PROTOCOL_ERROR, "close payload of 1 byte")
            }
            val code = ((data[0].toInt() and 0xFF) shl 8) or (data[1].toInt() and 0xFF)
            if (!CloseCodes.isValidOnWire(code)) {
                throw TetherException.ProtocolViolation(CloseCodes.PROTOCOL_ERROR, "invalid close code $code")
            }
            if (!Utf8Validator().let { it.feed(data, 2, data.size) && it.isComplete }) {
                throw TetherException.ProtocolViolation(CloseCodes.INVALID_PAYLOAD, "close reason is not valid UTF-8")
            }
            return ReceivedClose(code, String(data, 2, data.size - 2, Charsets.UTF_8))
        }

        /** Encodes a close payload. */
        fun closePayload(code: Int, reason: String): ByteArray {
            val r = reason.toByteArray(Charsets.UTF_8)
            val out = ByteArray(2 + r.size)
            out[0] = (code shr 8).toByte()
            out[1] = code.toByte()
            r.copyInto(out, 2)
            return out
        }
    }
}

/** A close frame received from the server (the code may be 1005: no status). */
internal class ReceivedClose(val code: Int, val reason: String)
