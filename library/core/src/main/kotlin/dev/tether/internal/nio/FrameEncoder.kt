package dev.tether.internal.nio

import java.nio.ByteBuffer
import java.security.SecureRandom
import java.util.concurrent.atomic.AtomicLong

/**
 * Encodes client frames: header and masked payload into one buffer, ready for a gathering write. Each frame gets a
 * fresh masking key from a per-connection SplitMix64 sequence seeded from [SecureRandom] (RFC 6455 §5.3: keys a
 * server cannot predict). Thread-safe and lock-free: senders on any thread encode at once.
 */
internal class FrameEncoder {
    private val state = AtomicLong(SEED.nextLong())

    private fun nextKey(): Int {
        var z = state.addAndGet(GAMMA)
        z = (z xor (z ushr 33)) * -0xae502812aa7333L
        z = (z xor (z ushr 33)) * -0x3b314601e57a13adL
        return (z ushr 32).toInt()
    }

    fun encode(opcode: Int, payload: ByteArray, fin: Boolean = true, rsv: Int = 0): ByteBuffer {
        val len = payload.size
        val ext = if (len < 126) 0 else if (len < 65536) 2 else 8
        val headerLen = 2 + ext + 4
        val out = ByteArray(headerLen + len)
        out[0] = ((if (fin) 0x80 else 0) or (rsv shl 4) or opcode).toByte()
        when (ext) {
            0 -> out[1] = (0x80 or len).toByte()
            2 -> {
                out[1] = (0x80 or 126).toByte()
                out[2] = (len shr 8).toByte()
                out[3] = len.toByte()
            }
            else -> {
                out[1] = (0x80 or 127).toByte()
                for (i in 0 until 8) out[2 + i] = (len.toLong() shr (56 - 8 * i)).toByte()
            }
        }
        val key = nextKey()
        val k = headerLen - 4
        out[k] = (key shr 24).toByte()
        out[k + 1] = (key shr 16).toByte()
        out[k + 2] = (key shr 8).toByte()
        out[k + 3] = key.toByte()
        System.arraycopy(payload, 0, out, headerLen, len)
        mask(out, headerLen, len, key)
        return ByteBuffer.wrap(out)
    }

    private companion object {
        val SEED = SecureRandom()
        const val GAMMA = -0x61c8864680b583ebL // SplitMix64's odd increment

        /** XORs [len] bytes of [a] from [off] with the 4-byte [key], eight bytes at a time. */
        fun mask(a: ByteArray, off: Int, len: Int, key: Int) {
            val bb = ByteBuffer.wrap(a)
            val k64 = (key.toLong() shl 32) or (key.toLong() and 0xFFFFFFFFL)
            var i = 0
            while (i + 8 <= len) {
                bb.putLong(off + i, bb.getLong(off + i) xor k64)
                i += 8
            }
            while (i < len) {
                a[off + i] = (a[off + i].toInt() xor (key shr (24 - 8 * (i and 3)))).toByte()
                i++
            }
        }
    }
}
