package dev.tether

import dev.tether.testkit.ConnectionScript
import dev.tether.testkit.HandshakeResponse
import dev.tether.testkit.TestWebSocketServer
import dev.tether.testkit.WireFrame
import dev.tether.testkit.WireFrame.Companion.BINARY
import dev.tether.testkit.WireFrame.Companion.CLOSE
import dev.tether.testkit.WireFrame.Companion.CONTINUATION
import dev.tether.testkit.WireFrame.Companion.TEXT
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.withTimeout
import java.lang.management.ManagementFactory
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.seconds

/** A frame header (no payload) with a 64-bit length field holding [length]. */
private fun header64(opcode: Int, length: Long): ByteArray =
    byteArrayOf((0x80 or opcode).toByte(), 127.toByte()) + ByteArray(8) { i -> (length ushr (56 - 8 * i)).toByte() }

/** The first disconnect of a client whose server misbehaves on its first connection, with the close frame it got. */
private suspend fun firstDisconnect(
    server: TestWebSocketServer,
    configure: WebSocketClientBuilder.() -> Unit = {},
): Pair<Disconnect, WireFrame?> {
    quickClient(server.url()) {
        configure()
        onDisconnect { Decision.StayDown }
    }.connect().use { conn ->
        val down = conn.awaitState<ConnectionState.Down>(20.seconds)
        val sc = server.connections[0]
        sc.awaitClosed(FIVE)
        return down.disconnect!! to sc.received.firstOrNull { it.opcode == CLOSE }
    }
}

private fun misbehaving(first: ConnectionScript): TestWebSocketServer {
    val n = AtomicInteger()
    return TestWebSocketServer.withScript { c -> if (n.incrementAndGet() == 1) first.run(c) else c.echo() }
}

private fun allocatedBytes(): Long =
    (ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean).totalThreadAllocatedBytes

class FramingTest : FunSpec({

    test("a 1 GiB frame header sent in the same write as the 101 allocates nothing and fails with 1009") {
        val gib = 1L shl 30
        val server = TestWebSocketServer(handshakeHandler = { HandshakeResponse.accept().followedBy(header64(BINARY, gib)) }).start()
        server.use {
            val before = allocatedBytes()
            quickClient(server.url()) { onDisconnect { Decision.StayDown } }.connect().use { conn ->
                val down = conn.awaitState<ConnectionState.Down>()
                val after = allocatedBytes()
                val d = down.disconnect!!
                d.code shouldBe 1009
                d.cause.shouldBeInstanceOf<TetherException.FrameTooLarge>().size shouldBe gib
                (after - before) shouldBeLessThan (64L shl 20) // the whole connect, every thread: a 1 GiB buffer would show here
                server.connections[0].awaitReceived(FIVE) { it.opcode == CLOSE }.closeCode shouldBe 1009
            }
        }
    }

    test("a 64-bit length with its top bit set fails with 1002, not as an empty message") {
        misbehaving { it.sendRaw(header64(BINARY, Long.MIN_VALUE + 5)) }.use { server ->
            val (d, close) = firstDisconnect(server)
            d.code shouldBe 1002
            d.cause!!.message!! shouldContain "most significant bit"
            close!!.closeCode shouldBe 1002
        }
    }

    test("a masked frame from the server fails with 1002") {
        val masked = byteArrayOf(0x81.toByte(), 0x81.toByte(), 1, 2, 3, 4, ('x'.code xor 1).toByte())
        misbehaving { it.sendRaw(masked) }.use { server ->
            val (d, close) = firstDisconnect(server)
            d.code shouldBe 1002
            d.cause!!.message!! shouldContain "masked"
            close!!.closeCode shouldBe 1002
        }
    }

    test("a message in more fragments than maxFragments fails with 1009") {
        misbehaving { c ->
            c.sendFrame(TEXT, "a".toByteArray(), fin = false)
            repeat(10) { c.sendFrame(CONTINUATION, "b".toByteArray(), fin = false) }
        }.use { server ->
            val (d, close) = firstDisconnect(server) { maxFragments = 5 }
            d.code shouldBe 1009
            d.cause!!.message!! shouldContain "more than 5 fragments"
            close!!.closeCode shouldBe 1009
        }
    }

    test("invalid UTF-8 fails with 1007 inside a single frame, before the frame is complete") {
        // a 1000-byte text frame whose first bytes are already invalid; the rest never comes
        val head = byteArrayOf(0x81.toByte(), 126.toByte(), (1000 shr 8).toByte(), (1000 and 0xFF).toByte())
        misbehaving { it.sendRaw(head + byteArrayOf(0x68, 0xC3.toByte(), 0x28)) }.use { server ->
            val (d, close) = firstDisconnect(server)
            d.code shouldBe 1007
            close!!.closeCode shouldBe 1007
        }
    }

    test("frames the application queued are written, masked, in one piece each, and echo back intact") {
        TestWebSocketServer.echo().use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                val sizes = listOf(0, 1, 125, 126, 65535, 65536, 200_000)
                sizes.forEach { conn.send(Frame.Binary(ByteArray(it) { i -> (i * 7).toByte() })) }
                withTimeout(10.seconds) {
                    sizes.forEach { n -> conn.incoming.receive() shouldBe Frame.Binary(ByteArray(n) { i -> (i * 7).toByte() }) }
                }
                val got = server.connections[0].awaitReceived(sizes.size, FIVE)
                got.map { it.payload.size } shouldBe sizes
            }
        }
    }

    test("reading pauses while the application is behind and resumes: 20 000 messages through a buffer of 1, in order") {
        val n = 20_000
        TestWebSocketServer.withScript { c ->
            val all = java.io.ByteArrayOutputStream()
            for (i in 0 until n) all.write(dev.tether.testkit.WireFrame.encode(TEXT, "$i".toByteArray()))
            c.sendRaw(all.toByteArray()) // one burst: far more than the engine queues before it stops reading
        }.use { server ->
            quickClient(server.url()) { incomingBuffer(1) }.connect().use { conn ->
                withTimeout(60.seconds) {
                    for (i in 0 until n) {
                        (conn.incoming.receive() as Frame.Text).text shouldBe "$i"
                        if (i % 5000 == 0) kotlinx.coroutines.yield()
                    }
                }
            }
        }
    }

    test("a server that closes the TCP connection is reported as ended by the peer") {
        misbehaving { it.drop() }.use { server ->
            val (d, _) = firstDisconnect(server)
            d.code shouldBe 1006
            d.byServer shouldBe true
            d.cause.shouldBeInstanceOf<TetherException.ConnectionLost>().byPeer shouldBe true
        }
    }
})
