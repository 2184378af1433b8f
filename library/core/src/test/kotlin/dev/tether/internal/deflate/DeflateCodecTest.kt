package dev.tether.internal.deflate

import dev.tether.TetherException
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.comparables.shouldBeGreaterThan
import io.kotest.matchers.comparables.shouldBeLessThan
import io.kotest.matchers.comparables.shouldBeLessThanOrEqualTo
import io.kotest.matchers.shouldBe
import java.lang.management.ManagementFactory
import java.util.zip.Deflater
import java.util.zip.Inflater

/** JSON-like text with repeats near and far, so a compressor wants references across the whole window. */
internal fun sampleJson(bytes: Int): ByteArray {
    val sb = StringBuilder()
    var i = 0
    while (sb.length < bytes) {
        sb.append("{\"id\":").append(i).append(",\"symbol\":\"SYM").append(i % 97).append("\",\"price\":")
            .append(1000 + (i * 7919) % 5000).append(".").append(i % 100).append(",\"side\":\"")
            .append(if (i % 3 == 0) "buy" else "sell").append("\"},")
        i++
    }
    return sb.substring(0, bytes).toByteArray()
}

private fun params(clientBits: Int = 15, clientNoTakeover: Boolean = false, serverNoTakeover: Boolean = false) =
    DeflateParams(serverNoTakeover, clientNoTakeover, clientBits)

/** Inflates one permessage-deflate payload with [inflater] (kept across messages by the caller), tail appended. */
private fun inflate(inflater: Inflater, payload: ByteArray): ByteArray {
    inflater.setInput(payload + byteArrayOf(0, 0, -1, -1))
    val out = java.io.ByteArrayOutputStream()
    val buf = ByteArray(8192)
    while (true) {
        val n = inflater.inflate(buf)
        if (n == 0) break
        out.write(buf, 0, n)
    }
    return out.toByteArray()
}

private val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean

class DeflateCodecTest : FunSpec({

    context("a client window under 15 bits is honoured: no reference reaches farther than 2^N bytes") {
        withData(8, 9, 10, 12, 14) { bits ->
            val data = sampleJson(100_000)
            val payload = MessageDeflater(params(clientBits = bits), 6).deflate(data)
            val reader = DeflateReader(payload)
            reader.read() shouldBe data
            reader.maxDistance shouldBeLessThanOrEqualTo (1 shl bits)
            reader.maxDistance shouldBeGreaterThan 0 // it still compresses with references, not only Huffman codes
            payload.size shouldBeLessThan data.size / 2
        }
    }

    test("with the full window, references reach past 8 bits (what the segmented path must avoid)") {
        val data = sampleJson(100_000)
        val deflater = MessageDeflater(params(), 6)
        val reader = DeflateReader(deflater.deflate(data))
        deflater.release()
        reader.read() shouldBe data
        reader.maxDistance shouldBeGreaterThan 1024
    }

    test("with context takeover, later messages refer to earlier ones and inflate in sequence") {
        val deflater = MessageDeflater(params(), 6)
        val inflater = Inflater(true)
        val msgs = (0 until 20).map { sampleJson(1500 + it) }
        val sizes = msgs.map { m ->
            val p = deflater.deflate(m)
            inflate(inflater, p) shouldBe m
            p.size
        }
        sizes.last() shouldBeLessThan sizes.first() / 2 // the shared history pays off
        deflater.release()
        inflater.end()
    }

    test("without context takeover every message inflates on its own") {
        val deflater = MessageDeflater(params(clientNoTakeover = true), 6)
        repeat(5) { i ->
            val m = sampleJson(3000 + i)
            val fresh = Inflater(true)
            inflate(fresh, deflater.deflate(m)) shouldBe m
            fresh.end()
        }
    }

    test("a pooled deflater taken at another level still compresses the first message whole") {
        MessageDeflater(params(clientNoTakeover = true), 6).deflate(sampleJson(100)) // one at level 6 goes back to the pool
        val data = sampleJson(5_000)
        val d = MessageDeflater(params(), 1)
        inflate(Inflater(true), d.deflate(data)) shouldBe data
        d.release()
    }

    test("an empty message compresses to a payload that inflates to nothing") {
        val deflater = MessageDeflater(params(), 6)
        val p = deflater.deflate(ByteArray(0))
        deflater.release()
        inflate(Inflater(true), p).size shouldBe 0
    }

    test("a message that inflates 1000x fails past the limit without allocating its size") {
        val inflated = 4_000_000
        val bomb = Deflater(9, true).let { d ->
            d.setInput(ByteArray(inflated) { 'a'.code.toByte() })
            val buf = ByteArray(inflated)
            val n = d.deflate(buf, 0, buf.size, Deflater.SYNC_FLUSH)
            d.end()
            buf.copyOf(n - 4)
        }
        (inflated / bomb.size) shouldBeGreaterThan 1000
        val limit = 64L * 1024
        val inflater = MessageInflater(params(), limit)
        val before = threads.getThreadAllocatedBytes(Thread.currentThread().id)
        val e = shouldThrow<TetherException.FrameTooLarge> { inflater.inflate(bomb, true, 0, null) }
        val allocated = threads.getThreadAllocatedBytes(Thread.currentThread().id) - before
        e.limit shouldBe limit
        e.size shouldBe limit + 1
        allocated shouldBeLessThan 4 * limit + 64 * 1024 // the output doubles up to the limit; 4 MB were claimed
        inflater.release()
    }

    test("a message inflating to exactly the limit passes; one byte more fails") {
        val data = sampleJson(10_000)
        val payload = MessageDeflater(params(clientNoTakeover = true), 6).deflate(data)
        MessageInflater(params(), data.size.toLong()).inflate(payload, true, 0, null) shouldBe data
        shouldThrow<TetherException.FrameTooLarge> { MessageInflater(params(), data.size - 1L).inflate(payload, true, 0, null) }
        // the limit is the message's: what earlier frames inflated to counts
        shouldThrow<TetherException.FrameTooLarge> { MessageInflater(params(), data.size.toLong()).inflate(payload, true, 1, null) }
    }

    test("zlib state goes back to the pool, which ends what it cannot keep") {
        val before = ZlibPool.deflatersAlive
        val deflaters = (0 until ZlibPool.CAPACITY * 3).map { MessageDeflater(params(), 6).also { d -> d.deflate(sampleJson(100)) } }
        ZlibPool.deflatersAlive shouldBeGreaterThan before
        deflaters.forEach { it.release() }
        ZlibPool.deflatersAlive shouldBeLessThanOrEqualTo before + ZlibPool.CAPACITY
    }
})
