package dev.tether.internal.deflate

import java.util.concurrent.locks.ReentrantLock
import java.util.zip.Deflater

/**
 * Compresses outgoing messages (RFC 7692 §7.2.1) with the JDK's zlib, honouring the window the server allows.
 *
 * The JDK's [Deflater] always compresses with a 32 KiB window (15 bits). Back-references never reach before the
 * start of the stream, so a stream of at most 2^N bytes can only refer within 2^N bytes. For a smaller agreed
 * `client_max_window_bits` N, a message is therefore compressed in segments of at most 2^N bytes, each from a reset
 * deflater and ended with a sync flush (which byte-aligns it): the segments form one valid DEFLATE stream whose
 * references all fit the window. With a 15-bit window and context takeover, the deflater keeps its history across
 * messages, the best ratio for streams of small similar messages.
 *
 * Zlib state comes from [ZlibPool] at the first message: kept for the connection with context takeover, given
 * back after each message without. The session sends through [deflateThen], which compresses and queues a message
 * under one lock, so that messages go on the wire in the order they were compressed; [close] gives the zlib state back
 * without waiting for a sender that is compressing (that sender gives it back as it leaves). [deflate] and [release]
 * alone are not thread-safe.
 */
internal class MessageDeflater(private val params: DeflateParams, private val level: Int) {
    private var deflater: Deflater? = null
    private var buf = ByteArray(INITIAL)
    private val lock = ReentrantLock()

    @Volatile
    private var closed = false

    /**
     * Compresses [data] and hands the payload to [write] with `true`, both under the lock; false (nothing written)
     * once [close]d. Any thread. When compressing does not make the message smaller (data that is already compressed
     * or random), [write] gets [data] itself with `false`: it goes out uncompressed, and the deflater forgets its
     * history, since the server's inflater never sees an uncompressed message and a later message must not refer to
     * it (RFC 7692 §7.2.3.1 lets a sender switch compression per message).
     */
    fun deflateThen(data: ByteArray, write: (payload: ByteArray, compressed: Boolean) -> Unit): Boolean {
        lock.lock()
        try {
            if (closed) return false
            val payload = deflate(data)
            if (payload.size < data.size || data.isEmpty()) {
                write(payload, true)
            } else {
                deflater?.reset() // its history holds this message, which the server will not have: forget it all
                write(data, false)
            }
            return true
        } finally {
            lock.unlock()
            if (closed) releaseIfFree()
        }
    }

    /**
     * Ends compression for good and gives the zlib state back: now if no sender holds the lock, else by that sender as
     * it leaves. Never blocks (the event loop calls it). Any thread; idempotent.
     */
    fun close() {
        closed = true
        releaseIfFree()
    }

    private fun releaseIfFree() {
        if (lock.tryLock()) {
            try {
                release()
            } finally {
                lock.unlock()
            }
        }
    }

    /** The compressed payload of the message [data], without the trailing `00 00 ff ff`. */
    fun deflate(data: ByteArray): ByteArray {
        // zlib makes nothing of an empty input after a flush; a lone empty block header is valid in any context
        if (data.isEmpty()) return EMPTY_MESSAGE.copyOf()
        val d = deflater ?: ZlibPool.deflater(level).also { deflater = it }
        var len = 0
        if (params.clientWindowBits == 15) {
            len = compress(d, data, 0, data.size, len)
        } else {
            val segment = 1 shl params.clientWindowBits
            var off = 0
            do {
                d.reset()
                val n = minOf(segment, data.size - off)
                len = compress(d, data, off, n, len)
                off += n
            } while (off < data.size)
        }
        if (params.clientNoContextTakeover || params.clientWindowBits < 15) release()
        check(len >= 4 && buf[len - 4].toInt() == 0 && buf[len - 3].toInt() == 0 && buf[len - 2].toInt() == -1 && buf[len - 1].toInt() == -1) {
            "a sync flush did not end with an empty stored block"
        }
        val out = buf.copyOf(len - 4)
        if (buf.size > MAX_KEPT) buf = ByteArray(INITIAL) // one large message does not pin its buffer
        return out
    }

    /** Compresses [n] bytes of [data] from [off] with a sync flush, appending to [buf] at [at]; returns the new end. */
    private fun compress(d: Deflater, data: ByteArray, off: Int, n: Int, at: Int): Int {
        d.setInput(data, off, n)
        var end = at
        while (true) {
            if (end == buf.size) buf = buf.copyOf(buf.size * 2)
            val free = buf.size - end
            val written = d.deflate(buf, end, free, Deflater.SYNC_FLUSH)
            end += written
            // The flush is complete when the output did not fill the space and all input was taken (the first call
            // after a level change, on a pooled deflater, only applies the level).
            if (written < free && d.needsInput()) return end
        }
    }

    /** Gives the zlib state back to the pool. Idempotent; a later message borrows again. */
    fun release() {
        deflater?.let { ZlibPool.release(it) }
        deflater = null
    }

    private companion object {
        const val INITIAL = 1024
        const val MAX_KEPT = 64 * 1024

        /** An empty message (RFC 7692 §7.2.3.6): with the tail it is an empty stored block. */
        val EMPTY_MESSAGE = byteArrayOf(0)
    }
}
