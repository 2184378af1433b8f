package dev.tether

import dev.tether.internal.deflate.DeflateReader
import dev.tether.internal.deflate.ZlibPool
import dev.tether.internal.deflate.sampleJson
import dev.tether.testkit.ConnectionScript
import dev.tether.testkit.HandshakeResponse
import dev.tether.testkit.ServerCompression
import dev.tether.testkit.ServerConnection
import dev.tether.testkit.TestWebSocketServer
import dev.tether.testkit.WireFrame
import dev.tether.testkit.WireFrame.Companion.BINARY
import dev.tether.testkit.WireFrame.Companion.CLOSE
import dev.tether.testkit.WireFrame.Companion.CONTINUATION
import dev.tether.testkit.WireFrame.Companion.PING
import dev.tether.testkit.WireFrame.Companion.TEXT
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.comparables.shouldBeLessThan
import io.kotest.matchers.comparables.shouldBeLessThanOrEqualTo
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import java.time.Duration
import java.util.concurrent.atomic.AtomicInteger
import java.util.zip.Deflater
import kotlin.time.Duration.Companion.seconds

/** [data] compressed by a fresh raw deflater with a sync flush, the `00 00 ff ff` tail removed (RFC 7692 §7.2.1). */
private fun deflated(data: ByteArray, deflater: Deflater = Deflater(Deflater.DEFAULT_COMPRESSION, true)): ByteArray {
    deflater.setInput(data)
    val buf = ByteArray(data.size + 1024)
    val n = deflater.deflate(buf, 0, buf.size, Deflater.SYNC_FLUSH)
    return buf.copyOf(n - 4)
}

/** A server that answers the upgrade with [extensions] verbatim and runs [script]; it inflates nothing itself. */
private fun answering(extensions: String, script: ConnectionScript = ConnectionScript { }): TestWebSocketServer =
    TestWebSocketServer(
        handshakeHandler = { HandshakeResponse.accept().withHeader("Sec-WebSocket-Extensions", extensions) },
        script = script,
    ).start()

/** A started echo server that agrees to permessage-deflate as [compression] says. */
private fun compressingEcho(compression: ServerCompression = ServerCompression()): TestWebSocketServer =
    TestWebSocketServer().apply { this.compression = compression }.start()

/** Runs [misbehave] on a connection that agreed permessage-deflate; returns the disconnect and the server's close. */
private suspend fun afterCompressedMisbehaviour(misbehave: (ServerConnection) -> Unit): Pair<Disconnect, WireFrame?> =
    afterMisbehaviour(misbehave, serve = { script -> answering("permessage-deflate", script) })

private suspend fun handshakeFailure(server: TestWebSocketServer, configure: WebSocketClientBuilder.() -> Unit = {}): TetherException.HandshakeFailed =
    server.use {
        quickClient(server.url()) {
            configure()
            onError { Decision.StayDown }
        }.connect().use { conn -> conn.awaitState<ConnectionState.Down>().cause.shouldBeInstanceOf<TetherException.HandshakeFailed>() }
    }

private val TEN_SECONDS: Duration = Duration.ofSeconds(10)

class CompressionTest : FunSpec({

    test("permessage-deflate is offered by default and, once agreed, compresses both ways") {
        compressingEcho().use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected().handshake.header("sec-websocket-extensions") shouldBe "permessage-deflate"
                val text = String(sampleJson(20_000))
                val bytes = sampleJson(8_000)
                conn.sendText(text)
                conn.sendBinary(bytes)
                withTimeout(5.seconds) {
                    conn.incoming.receive() shouldBe Frame.Text(text)
                    conn.incoming.receive() shouldBe Frame.Binary(bytes)
                }
                server.connections[0].compressed shouldBe true
                val (t, b) = server.connections[0].awaitReceived(2, FIVE)
                t.rsv shouldBe 4
                t.text shouldBe text
                t.wireLength shouldBeLessThan text.length / 3
                b.rsv shouldBe 4
                b.payload shouldBe bytes
            }
            server.handshakeRequests[0].header("sec-websocket-extensions") shouldBe "permessage-deflate; client_max_window_bits"
        }
    }

    test("a server that does not agree gets uncompressed messages") {
        TestWebSocketServer.echo().use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                val text = String(sampleJson(5_000))
                conn.sendText(text)
                withTimeout(5.seconds) { conn.incoming.receive() shouldBe Frame.Text(text) }
                server.connections[0].awaitReceived(1, FIVE)[0].rsv shouldBe 0
                server.connections[0].compressed shouldBe false
            }
        }
    }

    test("compression { enabled = false } offers nothing") {
        compressingEcho().use { server ->
            quickClient(server.url()) { compression { enabled = false } }.connect().use { conn ->
                conn.awaitConnected().handshake.header("sec-websocket-extensions") shouldBe null
                conn.sendText(String(sampleJson(5_000)))
                server.connections[0].awaitReceived(1, FIVE)[0].rsv shouldBe 0
            }
            server.handshakeRequests[0].header("sec-websocket-extensions") shouldBe null
        }
    }

    test("the offer carries every option set") {
        compressingEcho().use { server ->
            quickClient(server.url()) {
                compression {
                    clientMaxWindowBits = 10
                    serverMaxWindowBits = 12
                    clientNoContextTakeover = true
                    serverNoContextTakeover = true
                }
            }.connect().use { conn ->
                conn.awaitConnected().handshake.header("sec-websocket-extensions") shouldBe
                    "permessage-deflate; server_no_context_takeover; server_max_window_bits=12"
                val text = String(sampleJson(30_000))
                repeat(3) { conn.sendText(text) }
                withTimeout(5.seconds) { repeat(3) { conn.incoming.receive() shouldBe Frame.Text(text) } }
            }
            server.handshakeRequests[0].header("sec-websocket-extensions") shouldBe
                "permessage-deflate; client_no_context_takeover; server_no_context_takeover; server_max_window_bits=12; client_max_window_bits=10, " +
                "permessage-deflate; client_no_context_takeover; server_no_context_takeover; client_max_window_bits=10" // the fallback
        }
    }

    test("messages below the threshold go uncompressed; at it, compressed") {
        compressingEcho().use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                conn.sendText("a".repeat(1023))
                conn.sendText("a".repeat(1024))
                server.connections[0].awaitReceived(2, FIVE).map { it.rsv } shouldBe listOf(0, 4)
            }
        }
        compressingEcho().use { server ->
            quickClient(server.url()) { compression { threshold = 0 } }.connect().use { conn ->
                conn.awaitConnected()
                val short = "a".repeat(20) // small, but deflate still shrinks it ("hi" it would grow: that goes plain)
                conn.sendText(short)
                conn.sendText("")
                server.connections[0].awaitReceived(2, FIVE).map { it.rsv to it.text } shouldBe listOf(4 to short, 4 to "")
                withTimeout(5.seconds) {
                    conn.incoming.receive() shouldBe Frame.Text(short)
                    conn.incoming.receive() shouldBe Frame.Text("")
                }
            }
        }
    }

    test("a message sent with compress = false goes uncompressed, and the stream stays in step") {
        compressingEcho().use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                val text = String(sampleJson(4_000))
                conn.send(Frame.Text(text))
                conn.send(Frame.Text(text, compress = false))
                conn.send(Frame.Binary(text.toByteArray(), compress = false))
                conn.send(Frame.Text(text))
                val got = server.connections[0].awaitReceived(4, FIVE)
                got.map { it.rsv } shouldBe listOf(4, 0, 0, 4)
                got[3].text shouldBe text
                got[3].wireLength shouldBeLessThan got[0].wireLength // the second reuses the first's history
                withTimeout(5.seconds) { repeat(4) { conn.incoming.receive() } }
            }
        }
    }

    test("messages compressed from many threads at once reach the server in the order they were compressed") {
        compressingEcho().use { server ->
            quickClient(server.url()) { outgoingBuffer(4096) }.connect().use { conn ->
                conn.awaitConnected()
                val senders = 8
                val each = 150
                kotlinx.coroutines.coroutineScope {
                    repeat(senders) { s ->
                        launch(kotlinx.coroutines.Dispatchers.Default) {
                            repeat(each) { i ->
                                val text = "$s:$i:" + String(sampleJson(1_100 + (i * 37) % 900))
                                if (i % 2 == 0) conn.send(Frame.Text(text)) else conn.enqueue(Frame.Text(text))
                            }
                        }
                    }
                }
                val got = server.connections[0].awaitReceived(senders * each, Duration.ofSeconds(20))
                got.count { it.rsv == 4 } shouldBe senders * each
                // each sender's messages arrive whole and in its own order (a message inflated with the wrong history
                // would not even be valid UTF-8, or would not match)
                got.groupBy { it.text.substringBefore(':') }.forEach { (s, frames) ->
                    frames.map { it.text } shouldBe (0 until each).map { i -> "$s:$i:" + String(sampleJson(1_100 + (i * 37) % 900)) }
                }
            }
        }
    }

    context("server messages inflate with and without the server's context takeover") {
        withData(false, true) { noTakeover ->
            val server = TestWebSocketServer(script = ConnectionScript { c ->
                repeat(50) { c.sendText(String(sampleJson(2_000 + it))) }
            }).apply { compression = ServerCompression(serverNoContextTakeover = noTakeover) }.start()
            server.use {
                quickClient(server.url()).connect().use { conn ->
                    conn.awaitConnected()
                    withTimeout(10.seconds) {
                        repeat(50) { conn.incoming.receive() shouldBe Frame.Text(String(sampleJson(2_000 + it))) }
                    }
                }
            }
        }
    }

    test("a compressed message in fragments, and a stream the server ended with a final block, both inflate") {
        val message = sampleJson(30_000)
        val payload = deflated(message)
        val third = payload.size / 3
        answering("permessage-deflate", ConnectionScript { c ->
            c.sendFrame(TEXT, payload.copyOfRange(0, third), fin = false, rsv = 4)
            c.sendFrame(CONTINUATION, payload.copyOfRange(third, 2 * third), fin = false)
            c.sendFrame(CONTINUATION, payload.copyOfRange(2 * third, payload.size))
            // a whole DEFLATE stream with BFINAL set, then a new stream: the client starts afresh after the final block
            val finished = Deflater(6, true).let { d ->
                d.setInput("final block".toByteArray())
                d.finish()
                val buf = ByteArray(256)
                buf.copyOf(d.deflate(buf))
            }
            c.sendFrame(TEXT, finished, rsv = 4)
            c.sendFrame(BINARY, deflated(message), rsv = 4)
        }).use { server ->
            quickClient(server.url()).connect().use { conn ->
                withTimeout(5.seconds) {
                    conn.incoming.receive() shouldBe Frame.Text(String(message))
                    conn.incoming.receive() shouldBe Frame.Text("final block")
                    conn.incoming.receive() shouldBe Frame.Binary(message)
                }
            }
        }
    }

    context("a smaller client_max_window_bits from the server is honoured") {
        withData(8, 10, 12) { bits ->
            answering("permessage-deflate; client_max_window_bits=$bits").use { server ->
                val data = sampleJson(50_000)
                quickClient(server.url()).connect().use { conn ->
                    conn.awaitConnected()
                    conn.sendBinary(data)
                    val f = server.connections[0].awaitReceived(1, FIVE)[0]
                    f.rsv shouldBe 4
                    val reader = DeflateReader(f.payload) // the server inflated nothing: this is the wire payload
                    reader.read() shouldBe data
                    reader.maxDistance shouldBeLessThanOrEqualTo (1 shl bits)
                }
            }
        }
    }

    context("an answer Tether did not offer or cannot honour fails the handshake, naming the problem") {
        withData(
            mapOf(
                "a window under 8" to ("permessage-deflate; client_max_window_bits=7" to "from 8 to 15"),
                "a window over 15" to ("permessage-deflate; server_max_window_bits=16" to "from 8 to 15"),
                "a window with no value" to ("permessage-deflate; server_max_window_bits" to "from 8 to 15, was empty"),
                "a value on a flag" to ("permessage-deflate; server_no_context_takeover=1" to "takes no value"),
                "an unknown parameter" to ("permessage-deflate; mystery=1" to "\"mystery\", which Tether does not know"),
                "a repeated parameter" to
                    ("permessage-deflate; server_no_context_takeover; server_no_context_takeover" to "repeated"),
                "the extension twice" to ("permessage-deflate, permessage-deflate" to "2 extensions"),
                "another extension" to ("x-webkit-deflate-frame" to "\"x-webkit-deflate-frame\", which was not offered"),
            ),
        ) { (answer, message) ->
            handshakeFailure(answering(answer)).message!! shouldContain message
        }
    }

    context("an answer that ignores what the client asked for fails the handshake") {
        withData(
            mapOf(
                "compression off" to
                    (Triple<String, String, WebSocketClientBuilder.() -> Unit>("permessage-deflate", "which was not offered") { compression { enabled = false } }),
                "server_no_context_takeover asked, not agreed" to
                    Triple("permessage-deflate", "did not agree to server_no_context_takeover") { compression { serverNoContextTakeover = true } },
                "server_max_window_bits larger than asked" to
                    Triple("permessage-deflate; server_max_window_bits=12", "not at most the 10") { compression { serverMaxWindowBits = 10 } },
                "client_max_window_bits larger than offered" to
                    Triple("permessage-deflate; client_max_window_bits=12", "larger than the 10 offered") { compression { clientMaxWindowBits = 10 } },
            ),
        ) { (answer, message, configure) ->
            handshakeFailure(answering(answer), configure).message!! shouldContain message
        }
    }

    test("client_no_context_takeover in the answer makes every message compress on its own") {
        answering("permessage-deflate; client_no_context_takeover").use { server ->
            val data = sampleJson(6_000)
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                repeat(3) { conn.sendBinary(data) }
                val frames = server.connections[0].awaitReceived(3, FIVE)
                frames.forEach { f ->
                    f.rsv shouldBe 4
                    DeflateReader(f.payload).read() shouldBe data // each inflates from an empty history
                }
                frames[2].payload shouldBe frames[0].payload
            }
        }
    }

    test("invalid UTF-8 at the start of compressed text fails with 1007 before the rest is inflated") {
        // 4 MB of text behind the bad bytes: checked only after inflating, the message would fail on its size (1009)
        val text = byteArrayOf(0xC3.toByte(), 0x28) + ByteArray(4_000_000) { 'a'.code.toByte() }
        val (d, close) = afterCompressedMisbehaviour { c -> c.sendFrame(TEXT, deflated(text, Deflater(9, true)), rsv = 4) }
        d.code shouldBe 1007
        close!!.closeCode shouldBe 1007
    }

    test("quoted values and any case in the extension name are accepted") {
        answering("Permessage-Deflate; client_max_window_bits=\"9\"; server_max_window_bits=\"10\"").use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                conn.sendBinary(sampleJson(5_000))
                val f = server.connections[0].awaitReceived(1, FIVE)[0]
                DeflateReader(f.payload).apply { read() shouldBe sampleJson(5_000) }.maxDistance shouldBeLessThanOrEqualTo 512
            }
        }
    }

    context("RSV1 is valid only on the first frame of a data message; other RSV bits never: 1002") {
        withData(
            mapOf<String, (ServerConnection) -> Unit>(
                "a compressed ping" to { c -> c.sendFrame(PING, deflated("x".toByteArray()), rsv = 4) },
                "RSV1 on a continuation" to { c ->
                    c.sendFrame(TEXT, deflated("abc".toByteArray()), fin = false, rsv = 4)
                    c.sendFrame(CONTINUATION, deflated("def".toByteArray()), rsv = 4)
                },
                "RSV2 on a text frame" to { c -> c.sendFrame(TEXT, "x".toByteArray(), rsv = 2) },
                "RSV1 and RSV3" to { c -> c.sendFrame(TEXT, deflated("x".toByteArray()), rsv = 5) },
            ),
        ) { misbehave ->
            val (d, close) = afterCompressedMisbehaviour(misbehave)
            d.code shouldBe 1002
            d.cause.shouldBeInstanceOf<TetherException.ProtocolViolation>()
            close!!.closeCode shouldBe 1002
        }
    }

    test("a message that inflates 1000x past maxMessageSize fails with 1009") {
        val bomb = deflated(ByteArray(4_000_000) { 'a'.code.toByte() }, Deflater(9, true))
        (4_000_000 / bomb.size >= 1000) shouldBe true
        val (d, close) = afterCompressedMisbehaviour { c -> c.sendFrame(TEXT, bomb, rsv = 4) }
        d.code shouldBe 1009
        d.cause.shouldBeInstanceOf<TetherException.FrameTooLarge>().limit shouldBe (1L shl 20)
        close!!.closeCode shouldBe 1009
    }

    test("invalid UTF-8 inside compressed text, and data that does not inflate, fail with 1007") {
        val (d1, c1) = afterCompressedMisbehaviour { c -> c.sendFrame(TEXT, deflated(byteArrayOf(0x68, 0xC3.toByte(), 0x28)), rsv = 4) }
        d1.code shouldBe 1007
        c1!!.closeCode shouldBe 1007
        val (d2, c2) = afterCompressedMisbehaviour { c -> c.sendFrame(BINARY, byteArrayOf(0xFF.toByte(), 0xFF.toByte(), 0xFF.toByte()), rsv = 4) }
        d2.code shouldBe 1007
        d2.cause!!.message!! shouldContain "does not inflate"
        c2!!.closeCode shouldBe 1007
    }

    test("zlib state is given back at every reconnect: no growth across 1000 reconnects") {
        val deflatersBefore = ZlibPool.deflatersAlive
        val inflatersBefore = ZlibPool.inflatersAlive
        val text = String(sampleJson(2_000))
        val server = TestWebSocketServer(script = ConnectionScript { c ->
            c.sendText(text) // inflated by the client
            c.awaitFrame(TEN_SECONDS) // compressed by the client
            c.drop()
        }).apply { compression = ServerCompression() }.start()
        server.use {
            val received = AtomicInteger()
            quickClient(server.url()) {
                reconnect {
                    backoff(1, 1, 1.0)
                    jitter(0.0)
                }
                onText { t ->
                    if (t == text) received.incrementAndGet()
                    send(Frame.Text(text))
                }
            }.connect().use { conn ->
                withTimeout(120.seconds) { while (received.get() < 1000) kotlinx.coroutines.delay(20) }
                conn.close(CloseCodes.NORMAL, "")
            }
            server.connections.take(1000).count { sc -> sc.received.any { it.rsv == 4 } } shouldBe 1000
        }
        ZlibPool.deflatersAlive shouldBeLessThanOrEqualTo deflatersBefore + ZlibPool.CAPACITY
        ZlibPool.inflatersAlive shouldBeLessThanOrEqualTo inflatersBefore + ZlibPool.CAPACITY
    }

    test("zlib state is given back when the client closes, too") {
        val deflatersBefore = ZlibPool.deflatersAlive
        val inflatersBefore = ZlibPool.inflatersAlive
        val text = String(sampleJson(2_000))
        compressingEcho().use { server ->
            repeat(3 * ZlibPool.CAPACITY) {
                quickClient(server.url()).connect().use { conn ->
                    conn.awaitConnected()
                    conn.sendText(text)
                    withTimeout(5.seconds) { conn.incoming.receive() shouldBe Frame.Text(text) }
                    conn.close(CloseCodes.NORMAL, "")
                }
            }
        }
        ZlibPool.deflatersAlive shouldBeLessThanOrEqualTo deflatersBefore + ZlibPool.CAPACITY
        ZlibPool.inflatersAlive shouldBeLessThanOrEqualTo inflatersBefore + ZlibPool.CAPACITY
    }
})
