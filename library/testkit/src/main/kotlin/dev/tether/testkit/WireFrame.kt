package dev.tether.testkit

import java.io.ByteArrayOutputStream
import java.io.EOFException
import java.io.InputStream

/**
 * One WebSocket frame as it crossed the wire, unmasked. Immutable; compared by content.
 *
 * @property opcode 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong (or a reserved value).
 * @property fin the FIN bit.
 * @property rsv the RSV1..RSV3 bits as a number from 0 to 7 (RSV1 = 4).
 * @property wireLength the payload's length on the wire: for a frame the test server inflated (permessage-deflate,
 *   see [ServerCompression]) the compressed length, else the payload's size.
 */
public class WireFrame @JvmOverloads constructor(
    public val opcode: Int,
    public val fin: Boolean,
    public val rsv: Int,
    payload: ByteArray,
    public val wireLength: Int = payload.size,
) {
    private val data: ByteArray = payload.copyOf()

    /** A copy of the payload. */
    public val payload: ByteArray get() = data.copyOf()

    /** The payload decoded as UTF-8 (for text frames). */
    public val text: String get() = String(data, Charsets.UTF_8)

    /** True for a text frame. */
    public val isText: Boolean get() = opcode == TEXT

    /** True for a binary frame. */
    public val isBinary: Boolean get() = opcode == BINARY

    /** The close code of a close frame, or -1 if it has none. */
    public val closeCode: Int
        get() = if (opcode == CLOSE && data.size >= 2) ((data[0].toInt() and 0xFF) shl 8) or (data[1].toInt() and 0xFF) else -1

    /** The close reason of a close frame. */
    public val closeReason: String get() = if (opcode == CLOSE && data.size > 2) String(data, 2, data.size - 2, Charsets.UTF_8) else ""

    override fun equals(other: Any?): Boolean =
        other is WireFrame && other.opcode == opcode && other.fin == fin && other.rsv == rsv && other.data.contentEquals(data)

    override fun hashCode(): Int = (opcode * 31 + rsv) * 31 + data.contentHashCode()

    override fun toString(): String = when (opcode) {
        TEXT -> "Text(\"${text.take(60)}\"${if (!fin) ", fin=false" else ""})"
        CLOSE -> "Close($closeCode, \"$closeReason\")"
        else -> "WireFrame(opcode=$opcode, fin=$fin, rsv=$rsv, ${data.size} bytes)"
    }

    public companion object {
        public const val CONTINUATION: Int = 0
        public const val TEXT: Int = 1
        public const val BINARY: Int = 2
        public const val CLOSE: Int = 8
        public const val PING: Int = 9
        public const val PONG: Int = 10

        /**
         * Encodes a frame as a server sends it (unmasked), with any bits you like, so a test can send what a
         * correct server never would.
         */
        @JvmStatic
        @JvmOverloads
        public fun encode(opcode: Int, payload: ByteArray, fin: Boolean = true, rsv: Int = 0): ByteArray {
            val out = ByteArrayOutputStream(payload.size + 10)
            out.write((if (fin) 0x80 else 0) or ((rsv and 7) shl 4) or (opcode and 0x0F))
            when {
                payload.size < 126 -> out.write(payload.size)
                payload.size <= 0xFFFF -> {
                    out.write(126)
                    out.write(payload.size shr 8)
                    out.write(payload.size and 0xFF)
                }
                else -> {
                    out.write(127)
                    for (i in 7 downTo 0) out.write(((payload.size.toLong() shr (8 * i)) and 0xFF).toInt())
                }
            }
            out.write(payload)
            return out.toByteArray()
        }

        /** A close payload: the code in two bytes, then the reason's bytes as given. */
        @JvmStatic
        @JvmOverloads
        public fun closePayload(code: Int, reason: ByteArray = ByteArray(0)): ByteArray =
            byteArrayOf((code shr 8).toByte(), code.toByte()) + reason

        /** Reads one frame (masked or not) from [input]; throws [EOFException] at the end of the stream. */
        @JvmSynthetic
        internal fun read(input: InputStream, maxPayload: Long = 64L shl 20): WireFrame {
            val b0 = input.read()
            if (b0 < 0) throw EOFException()
            val b1 = input.readByte()
            var len = (b1 and 0x7F).toLong()
            if (len == 126L) len = ((input.readByte() shl 8) or input.readByte()).toLong()
            else if (len == 127L) {
                len = 0
                repeat(8) { len = (len shl 8) or input.readByte().toLong() }
            }
            require(len in 0..maxPayload) { "frame of $len bytes is too large for the test server" }
            val mask = if (b1 and 0x80 != 0) ByteArray(4) { input.readByte().toByte() } else null
            val payload = input.readNBytes(len.toInt())
            if (payload.size.toLong() != len) throw EOFException()
            if (mask != null) for (i in payload.indices) payload[i] = (payload[i].toInt() xor mask[i % 4].toInt()).toByte()
            return WireFrame(b0 and 0x0F, b0 and 0x80 != 0, (b0 shr 4) and 7, payload)
        }

        private fun InputStream.readByte(): Int {
            val b = read()
            if (b < 0) throw EOFException()
            return b
        }
    }
}
