package dev.tether

import dev.tether.testkit.ConnectionScript
import dev.tether.testkit.ServerConnection
import dev.tether.testkit.TestWebSocketServer
import dev.tether.testkit.WireFrame
import dev.tether.testkit.WireFrame.Companion.BINARY
import dev.tether.testkit.WireFrame.Companion.CLOSE
import dev.tether.testkit.WireFrame.Companion.CONTINUATION
import dev.tether.testkit.WireFrame.Companion.PING
import dev.tether.testkit.WireFrame.Companion.PONG
import dev.tether.testkit.WireFrame.Companion.TEXT
import dev.tether.testkit.WireFrame.Companion.closePayload
import dev.tether.testkit.WireFrame.Companion.encode
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.withTimeout
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.seconds

private val EURO = "€".toByteArray() // E2 82 AC

class ProtocolTest : FunSpec({

    test("invalid UTF-8 in a text frame fails the connection with 1007") {
        val (d, close) = afterMisbehaviour({ it.sendFrame(TEXT, byteArrayOf(0x68, 0xC3.toByte(), 0x28)) })
        d.code shouldBe 1007
        d.byServer shouldBe false
        d.cause.shouldBeInstanceOf<TetherException.ProtocolViolation>().closeCode shouldBe 1007
        close!!.closeCode shouldBe 1007
    }

    test("invalid UTF-8 fails on the offending fragment, before the message is finished") {
        val (d, close) = afterMisbehaviour({ c ->
            c.sendFrame(TEXT, "hello ".toByteArray() + EURO.copyOfRange(0, 1), fin = false)
            c.sendFrame(CONTINUATION, byteArrayOf(0x41), fin = false) // 0x41 cannot continue E2
            // the final fragment is never sent: the client must fail without it
        })
        d.code shouldBe 1007
        close!!.closeCode shouldBe 1007
    }

    test("text ending inside a UTF-8 sequence fails with 1007") {
        val (d, _) = afterMisbehaviour({ it.sendFrame(TEXT, EURO.copyOfRange(0, 2)) })
        d.code shouldBe 1007
    }

    test("a character split across fragments, a ping between fragments and a frame chopped into 1-byte writes are fine") {
        TestWebSocketServer.withScript { c ->
            c.sendFrame(TEXT, "price: ".toByteArray() + EURO.copyOfRange(0, 2), fin = false)
            c.sendFrame(PING, "mid".toByteArray())
            c.sendFrame(CONTINUATION, EURO.copyOfRange(2, 3) + "5".toByteArray(), fin = true)
            c.sendRawChunked(encode(BINARY, ByteArray(300) { it.toByte() }), 1)
            c.echo()
        }.use { server ->
            quickClient(server.url()).connect().use { conn ->
                withTimeout(5.seconds) {
                    conn.incoming.receive() shouldBe Frame.Text("price: €5")
                    conn.incoming.receive() shouldBe Frame.Binary(ByteArray(300) { it.toByte() })
                }
                server.connections[0].awaitReceived(FIVE) { it.opcode == PONG }.text shouldBe "mid"
                conn.state.value.shouldBeInstanceOf<ConnectionState.Connected>()
            }
        }
    }

    context("RSV bits without a negotiated extension fail with 1002") {
        withData(4, 2, 1) { rsv ->
            val (d, close) = afterMisbehaviour({ it.sendFrame(TEXT, "x".toByteArray(), rsv = rsv) })
            d.code shouldBe 1002
            close!!.closeCode shouldBe 1002
        }
    }

    context("invalid close codes from the server fail with 1002") {
        withData(0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999) { code ->
            val (d, close) = afterMisbehaviour({ it.sendFrame(CLOSE, closePayload(code)) })
            d.code shouldBe 1002
            d.cause.shouldBeInstanceOf<TetherException.ProtocolViolation>()
            close!!.closeCode shouldBe 1002
        }
    }

    test("a close payload of one byte fails with 1002") {
        val (d, close) = afterMisbehaviour({ it.sendFrame(CLOSE, byteArrayOf(3)) })
        d.code shouldBe 1002
        close!!.closeCode shouldBe 1002
    }

    test("a close reason that is not UTF-8 fails with 1007") {
        val (d, close) = afterMisbehaviour({ it.sendFrame(CLOSE, closePayload(1000, byteArrayOf(0xFF.toByte(), 0xFE.toByte()))) })
        d.code shouldBe 1007
        close!!.closeCode shouldBe 1007
    }

    test("a valid close from the server is answered with the same code and reported as received") {
        val (d, close) = afterMisbehaviour({ it.close(3001, "ciao", awaitReply = true) })
        d.code shouldBe 3001
        d.reason shouldBe "ciao"
        d.byServer shouldBe true
        d.cause shouldBe null
        close!!.closeCode shouldBe 3001 // what the server itself sent is recorded first
    }

    test("a close with no status is reported as 1005 and answered with an empty close") {
        val (d, _) = afterMisbehaviour({ it.sendFrame(CLOSE, ByteArray(0)) })
        d.code shouldBe 1005
    }

    context("frames a correct server never sends fail with 1002") {
        withData(
            mapOf(
                "reserved opcode 3" to encode(3, ByteArray(0)),
                "reserved control opcode 11" to encode(11, ByteArray(0)),
                "fragmented ping" to encode(PING, ByteArray(1), fin = false),
                "ping of 126 bytes" to encode(PING, ByteArray(126)),
                "continuation with nothing to continue" to encode(CONTINUATION, "x".toByteArray()),
                "new text frame inside a fragmented message" to
                    encode(TEXT, "a".toByteArray(), fin = false) + encode(TEXT, "b".toByteArray()),
            ),
        ) { bytes ->
            val (d, close) = afterMisbehaviour({ it.sendRaw(bytes) })
            d.code shouldBe 1002
            d.cause.shouldBeInstanceOf<TetherException.ProtocolViolation>()
            close!!.closeCode shouldBe 1002
        }
    }

    test("a frame larger than maxFrameSize fails with 1009 before its payload is buffered") {
        val (d, close) = afterMisbehaviour({ it.sendFrame(BINARY, ByteArray(5_000)) }) { maxFrameSize = 1_024 }
        d.code shouldBe 1009
        d.cause.shouldBeInstanceOf<TetherException.FrameTooLarge>()
        close!!.closeCode shouldBe 1009
    }

    test("a fragmented message larger than maxMessageSize fails with 1009 on the fragment that crosses it") {
        val (d, close) = afterMisbehaviour({ c ->
            c.sendFrame(BINARY, ByteArray(600), fin = false)
            c.sendFrame(CONTINUATION, ByteArray(600), fin = false)
        }) { maxMessageSize = 1_000 }
        d.code shouldBe 1009
        d.cause.shouldBeInstanceOf<TetherException.FrameTooLarge>().size shouldBe 1_200L
        close!!.closeCode shouldBe 1009
    }

    test("room for 16 MiB messages when asked") {
        val big = ByteArray(16 shl 20) { (it % 251).toByte() }
        TestWebSocketServer.withScript { c -> c.sendBinary(big); c.echo() }.use { server ->
            quickClient(server.url()) {
                maxFrameSize = 16L shl 20
                maxMessageSize = 16L shl 20
            }.connect().use { conn ->
                val f = withTimeout(20.seconds) { conn.incoming.receive() }
                f shouldBe Frame.Binary(big)
            }
        }
    }

    test("a ping is answered before any data frame queued after it arrived") {
        TestWebSocketServer.withScript { c ->
            c.sendRaw(encode(PING, "p1".toByteArray()) + encode(TEXT, "go".toByteArray()))
            c.echo()
        }.use { server ->
            quickClient(server.url()) {
                onText { if (it == "go") sendText("reply") }
            }.connect().use { conn ->
                conn.awaitConnected()
                val sc = server.awaitConnection(FIVE)
                sc.awaitReceived(1, FIVE)
                sc.received.filter { it.opcode == PONG || it.opcode == TEXT }.map { it.opcode } shouldContainExactly
                    listOf(PONG, TEXT)
            }
        }
    }
})
