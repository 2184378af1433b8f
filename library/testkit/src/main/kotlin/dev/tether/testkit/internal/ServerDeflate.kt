package dev.tether.testkit.internal

import java.io.ByteArrayOutputStream
import java.util.zip.Deflater
import java.util.zip.Inflater

/**
 * The test server's side of permessage-deflate for one connection: inflates what the client compressed (keeping
 * the client's context across messages, which is right whether or not the client takes it over) and compresses what
 * the server sends. For a server window under 15 bits it compresses with Huffman codes only (no back-references),
 * which every window accepts. Not thread-safe: the reader inflates, senders deflate under the connection's write lock.
 */
internal class ServerDeflate(private val noContextTakeover: Boolean, windowBits: Int) {
    private val inflater = Inflater(true)
    private val deflater = Deflater(Deflater.DEFAULT_COMPRESSION, true).apply {
        if (windowBits < 15) setStrategy(Deflater.HUFFMAN_ONLY)
    }

    /** The inflated bytes of one frame of a compressed message; [fin] appends the tail the client removed. */
    fun inflate(payload: ByteArray, fin: Boolean): ByteArray {
        val out = ByteArrayOutputStream(payload.size * 4 + 64)
        val buf = ByteArray(8192)
        fun drain() {
            while (true) {
                val n = inflater.inflate(buf)
                if (n == 0) break
                out.write(buf, 0, n)
            }
        }
        inflater.setInput(payload)
        drain()
        if (fin) {
            inflater.setInput(TAIL)
            drain()
        }
        return out.toByteArray()
    }

    /** [data] compressed as one message, without the trailing `00 00 ff ff`. */
    fun deflate(data: ByteArray): ByteArray {
        if (data.isEmpty()) return byteArrayOf(0) // zlib gives nothing for an empty input after a flush
        if (noContextTakeover) deflater.reset()
        deflater.setInput(data)
        val out = ByteArrayOutputStream(data.size / 2 + 64)
        val buf = ByteArray(8192)
        while (true) {
            val n = deflater.deflate(buf, 0, buf.size, Deflater.SYNC_FLUSH)
            out.write(buf, 0, n)
            // the first call after a strategy change only applies it, so done means: room left and all input taken
            if (n < buf.size && deflater.needsInput()) break
        }
        val bytes = out.toByteArray()
        return bytes.copyOf(bytes.size - 4)
    }

    /** Frees the inflater; the reader calls it when it stops. */
    fun endInflater() {
        inflater.end()
    }

    /** Frees the deflater; called under the write lock, after which [deflate] must not be called. */
    fun endDeflater() {
        deflater.end()
    }

    private companion object {
        val TAIL = byteArrayOf(0, 0, -1, -1)
    }
}
