package dev.tether.internal.nio

import dev.tether.CloseCodes
import dev.tether.TetherException
import dev.tether.internal.RawFrame
import dev.tether.internal.Utf8Validator
import dev.tether.internal.deflate.MessageInflater
import java.nio.ByteBuffer

/**
 * Parses server frames straight from read buffers. Every header is checked before its payload is allocated: the
 * frame and message limits, a 64-bit length with its top bit set, masking (a server must not mask), reserved opcodes,
 * control frames (unfragmented, at most 125 bytes), fragment order and the fragment count. Text is validated as UTF-8
 * as its bytes arrive, so invalid text fails (1007) inside a single frame, before the frame is complete.
 *
 * With permessage-deflate ([inflater] set once the upgrade agreed it), RSV1 marks the first frame of a compressed
 * message and is refused anywhere else (1002); such frames are inflated as they complete, the inflated size counting
 * against the message limit (1009) and the inflated text checked as UTF-8 (1007). Without it, any RSV bit fails.
 *
 * Emits frames whose continuation opcode is replaced by that of the message, inflated, with no RSV bits. Throws
 * [TetherException.ProtocolViolation] or [TetherException.FrameTooLarge]; after that the parser is spent.
 * Not thread-safe: owned by the connection's event loop.
 */
internal class FrameParser(
    private val maxFrameSize: Long,
    private val maxMessageSize: Long,
    private val maxFragments: Int,
    private val sink: (RawFrame) -> Unit,
) {
    private val header = ByteArray(MAX_HEADER)
    private var headerLen = 0
    private var payload: ByteArray? = null
    private var filled = 0
    private var opcode = 0
    private var fin = false
    private var rsv = 0

    /** Set by the session when the upgrade agreed permessage-deflate; loop thread. */
    var inflater: MessageInflater? = null

    /**
     * The frame limit for frames of a compressed message: [maxFrameSize] plus deflate's growth on data it cannot
     * shrink (zlib's bound is about 0.03 % plus a few bytes; other compressors add more: up to 0.25 % was seen from
     * Node's `ws`), with a wide margin. What the frame inflates to is held to `maxMessageSize` as it inflates.
     */
    private val compressedFrameLimit = maxFrameSize + maxFrameSize / 64 + 1024

    private var messageOpcode = 0
    private var messageCompressed = false
    private var messageSize = 0L
    private var fragments = 0
    private val utf8 = Utf8Validator()

    /** Consumes all of [buf], emitting every frame it completes. */
    fun feed(buf: ByteBuffer) {
        while (buf.hasRemaining()) {
            val p = payload
            if (p == null) readHeader(buf) else readPayload(buf, p)
        }
    }

    private fun readHeader(buf: ByteBuffer) {
        while (headerLen < 2) {
            if (!buf.hasRemaining()) return
            header[headerLen++] = buf.get()
        }
        val b1 = header[1].toInt() and 0xFF
        val len7 = b1 and 0x7F
        val need = 2 + (if (len7 == 126) 2 else if (len7 == 127) 8 else 0) + (if (b1 and 0x80 != 0) 4 else 0)
        while (headerLen < need) {
            if (!buf.hasRemaining()) return
            header[headerLen++] = buf.get()
        }
        headerComplete(len7, b1 and 0x80 != 0)
    }

    private fun headerComplete(len7: Int, masked: Boolean) {
        val b0 = header[0].toInt() and 0xFF
        fin = b0 and 0x80 != 0
        rsv = (b0 shr 4) and 0x7
        opcode = b0 and 0x0F
        val length: Long = when (len7) {
            126 -> ((header[2].toLong() and 0xFF) shl 8) or (header[3].toLong() and 0xFF)
            127 -> {
                var v = 0L
                for (i in 2 until 10) v = (v shl 8) or (header[i].toLong() and 0xFF)
                if (v < 0) violation("a 64-bit frame length with its most significant bit set")
                v
            }
            else -> len7.toLong()
        }
        headerLen = 0
        if (masked) violation("a masked frame from the server")
        if (rsv and 3 != 0) violation("RSV bits $rsv set without a negotiated extension")
        val compressed = rsv != 0
        if (compressed) {
            when {
                inflater == null -> violation("RSV1 set without a negotiated extension")
                opcode >= RawFrame.CLOSE -> violation("RSV1 set on a control frame")
                opcode == CONTINUATION -> violation("RSV1 set on a continuation frame")
            }
        }
        when (opcode) {
            RawFrame.CLOSE, RawFrame.PING, RawFrame.PONG -> {
                if (!fin) violation("a fragmented control frame")
                if (length > 125) violation("a control frame of $length bytes (at most 125 allowed)")
            }
            CONTINUATION -> if (messageOpcode == 0) violation("a continuation frame with no message to continue")
            RawFrame.TEXT, RawFrame.BINARY -> if (messageOpcode != 0) violation("a new data frame before the fragmented message was finished")
            else -> violation("reserved opcode $opcode")
        }
        if (opcode < RawFrame.CLOSE && opcode != CONTINUATION) {
            messageOpcode = opcode
            messageCompressed = compressed
            messageSize = 0
            fragments = 0
            utf8.reset()
        }
        // a compressed frame may rightly be larger than the data it carries (incompressible data grows a little)
        val frameLimit = if (opcode < RawFrame.CLOSE && messageCompressed) compressedFrameLimit else maxFrameSize
        if (length > frameLimit) throw TetherException.FrameTooLarge(length, frameLimit, isFrame = true)
        if (opcode < RawFrame.CLOSE) {
            if (!messageCompressed) { // a compressed message counts its inflated bytes, as they are inflated
                messageSize += length
                if (messageSize > maxMessageSize) throw TetherException.FrameTooLarge(messageSize, maxMessageSize)
            }
            if (++fragments > maxFragments) {
                throw TetherException.ProtocolViolation(CloseCodes.TOO_BIG, "a message in more than $maxFragments fragments")
            }
        }
        val p = if (length == 0L) EMPTY else ByteArray(length.toInt())
        filled = 0
        if (p.isEmpty()) complete(p) else payload = p
    }

    private fun readPayload(buf: ByteBuffer, p: ByteArray) {
        val n = minOf(buf.remaining(), p.size - filled)
        buf.get(p, filled, n)
        val from = filled
        filled += n
        if (opcode < RawFrame.CLOSE && messageOpcode == RawFrame.TEXT && !messageCompressed) { // uncompressed text
            if (!utf8.feed(p, from, filled)) {
                throw TetherException.ProtocolViolation(CloseCodes.INVALID_PAYLOAD, "text message is not valid UTF-8")
            }
        }
        if (filled == p.size) {
            payload = null
            complete(p)
        }
    }

    private fun complete(wire: ByteArray) {
        if (opcode >= RawFrame.CLOSE) {
            sink(RawFrame(opcode, true, 0, wire))
            return
        }
        val type = messageOpcode
        var p = wire
        if (messageCompressed) {
            p = inflater!!.inflate(wire, fin, messageSize, if (type == RawFrame.TEXT) utf8 else null)
            messageSize += p.size
        }
        if (fin) {
            if (type == RawFrame.TEXT && !utf8.isComplete) {
                throw TetherException.ProtocolViolation(CloseCodes.INVALID_PAYLOAD, "text message ends inside a UTF-8 sequence")
            }
            messageOpcode = 0
        }
        sink(RawFrame(type, fin, 0, p))
    }

    private fun violation(detail: String): Nothing =
        throw TetherException.ProtocolViolation(CloseCodes.PROTOCOL_ERROR, detail)

    private companion object {
        const val MAX_HEADER = 14
        const val CONTINUATION = 0
        val EMPTY = ByteArray(0)
    }
}
