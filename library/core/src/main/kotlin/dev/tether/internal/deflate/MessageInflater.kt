package dev.tether.internal.deflate

import dev.tether.CloseCodes
import dev.tether.TetherException
import dev.tether.internal.Utf8Validator
import java.util.zip.DataFormatException
import java.util.zip.Inflater

/**
 * Inflates the frames of compressed messages from one server (RFC 7692 §7.2.2), on the connection's event loop.
 *
 * Output goes into chunks that double in size, up to what the message may still take under `maxMessageSize`, and
 * is copied once into an array of the exact size at the end; when the inflater has more to give at the limit, the
 * message fails with [TetherException.FrameTooLarge] (1009): a compression bomb costs at
 * most the limit, never the size it claims. Text is validated as it is inflated, so invalid UTF-8 fails early.
 *
 * The zlib state is borrowed from [ZlibPool] at the first compressed message. It is kept between messages when the
 * server takes over its context, else given back after each message; [release] gives it back for good.
 * Not thread-safe: the event loop owns it.
 */
internal class MessageInflater(private val params: DeflateParams, private val maxMessageSize: Long) {
    private var inflater: Inflater? = null
    private val probe = ByteArray(1)

    /**
     * The inflated bytes of one frame's [data]. [inflatedBefore] is what the message's earlier frames inflated to;
     * [last] (the FIN frame) appends the empty-block tail the sender removed. [utf8] is fed the output of a text
     * message. Throws [TetherException.FrameTooLarge] past the limit and [TetherException.ProtocolViolation] (1007)
     * for data that does not inflate or is not UTF-8.
     */
    fun inflate(data: ByteArray, last: Boolean, inflatedBefore: Long, utf8: Utf8Validator?): ByteArray {
        val inf = inflater ?: ZlibPool.inflater().also { inflater = it }
        val allowance = maxMessageSize - inflatedBefore
        var out = ByteArray(minOf(allowance, maxOf(256L, data.size * 4L)).toInt())
        var pos = 0
        var filled: ArrayList<ByteArray>? = null // earlier output chunks, each full: nothing is copied while inflating
        var filledSize = 0
        var input = data
        var tailFed = false
        inf.setInput(input)
        try {
            while (true) {
                if (pos == out.size) {
                    if (filledSize + pos >= allowance) {
                        if (inf.inflate(probe) > 0) {
                            throw TetherException.FrameTooLarge(inflatedBefore + filledSize + pos + 1, maxMessageSize)
                        }
                    } else {
                        (filled ?: ArrayList<ByteArray>(8).also { filled = it }).add(out)
                        filledSize += pos
                        out = ByteArray(minOf(allowance - filledSize, out.size * 2L).toInt())
                        pos = 0
                        continue
                    }
                } else {
                    val n = inf.inflate(out, pos, out.size - pos)
                    if (n > 0) {
                        if (utf8 != null && !utf8.feed(out, pos, pos + n)) {
                            throw TetherException.ProtocolViolation(CloseCodes.INVALID_PAYLOAD, "text message is not valid UTF-8")
                        }
                        pos += n
                        continue
                    }
                }
                // nothing more from what was given: the stream ended (a final block), or the input is used up
                if (inf.finished()) { // a final block ended the stream: a new one may follow in this payload
                    val rest = inf.remaining
                    inf.reset()
                    if (input !== TAIL && rest > 0) {
                        inf.setInput(input, input.size - rest, rest)
                        continue
                    }
                    if (last) tailFed = true // the tail only completes a sync flush; after a final block it is not fed
                }
                if (last && !tailFed) {
                    tailFed = true
                    input = TAIL
                    inf.setInput(input)
                    continue
                }
                break
            }
        } catch (e: DataFormatException) {
            release()
            throw TetherException.ProtocolViolation(CloseCodes.INVALID_PAYLOAD, "compressed data does not inflate: ${e.message}")
        }
        if (last && params.serverNoContextTakeover) release()
        val chunks = filled ?: return if (pos == out.size) out else out.copyOf(pos)
        val whole = ByteArray(filledSize + pos)
        var at = 0
        for (c in chunks) {
            System.arraycopy(c, 0, whole, at, c.size)
            at += c.size
        }
        System.arraycopy(out, 0, whole, at, pos)
        return whole
    }

    /** Gives the zlib state back to the pool. Idempotent; a later message borrows again. */
    fun release() {
        inflater?.let { ZlibPool.release(it) }
        inflater = null
    }

    private companion object {
        /** The empty stored block's end that senders strip from every message (RFC 7692 §7.2.2). */
        val TAIL = byteArrayOf(0x00, 0x00, 0xFF.toByte(), 0xFF.toByte())
    }
}
