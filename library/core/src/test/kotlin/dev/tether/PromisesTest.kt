package dev.tether

import dev.tether.testkit.ConnectionScript
import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.launch
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.withTimeout
import java.time.Duration as JDuration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource

/**
 * Promises that real servers and probes broke (issue 21), each over real loopback sockets. Every test here failed on
 * the code before its fix.
 */
class PromisesTest : FunSpec({

    test("1: close() returns after a frame with a time to live waited in the outbox (delivered later, or expired)") {
        TestWebSocketServer.echo().use { server ->
            for (deliveredLater in listOf(true, false)) {
                val gate = MutableStateFlow(false)
                val conn = quickClient(server.url()) {
                    outboxTimeToLive = (if (deliveredLater) 5_000 else 300).milliseconds
                    gate(gate)
                }.connect()
                conn.awaitState<ConnectionState.Paused>()
                val sent = async { runCatching { conn.sendText("x") } }
                if (deliveredLater) {
                    gate.value = true
                    sent.await().isSuccess shouldBe true
                } else {
                    (sent.await().exceptionOrNull() as TetherException.SendFailed).reason shouldBe
                        TetherException.SendFailure.EXPIRED
                }
                val started = TimeSource.Monotonic.markNow()
                withTimeout(10.seconds) { conn.close(1000, "") } // closeTimeout 2 s: it used to never return
                started.elapsedNow().inWholeMilliseconds shouldBeLessThan 3_500
            }
        }
    }

    test("4: a send from inside onConnect on the connection itself goes out at once, first") {
        val firstFrame = CompletableDeferred<String>()
        TestWebSocketServer.withScript(ConnectionScript { c ->
            firstFrame.complete(c.awaitFrame(JDuration.ofSeconds(15)).text)
            c.echo()
        }).use { server ->
            val returned = CompletableDeferred<Long>()
            val started = TimeSource.Monotonic.markNow()
            quickClient(server.url()) {
                connectTimeout = 10.seconds
                onConnect {
                    connection.sendText("hello") // suspends until written: it must not wait for onConnect to return
                    returned.complete(started.elapsedNow().inWholeMilliseconds)
                }
            }.connect().use { conn ->
                conn.awaitConnected()
                conn.sendText("later")
                withTimeout(15.seconds) { returned.await() } shouldBeLessThan 5_000
                firstFrame.await() shouldBe "hello"
            }
        }
    }

    test("5: a watcher collecting events for ever does not slow close()") {
        TestWebSocketServer.echo().use { server ->
            val seen = java.util.Collections.synchronizedList(ArrayList<ConnectionEvent>())
            val conn = quickClient(server.url()) {
                closeTimeout = 8.seconds
                watch { c -> c.events.collect { seen += it } }
            }.connect()
            conn.awaitConnected()
            val started = TimeSource.Monotonic.markNow()
            conn.close(1000, "")
            started.elapsedNow().inWholeMilliseconds shouldBeLessThan 4_000 // it took the whole closeTimeout
            seen.last().javaClass shouldBe ConnectionEvent.Closed::class.java // the watcher handled Closed first
        }
    }

    test("15: raising maxMessageSize alone lets a message of that size arrive in 64-byte fragments (Autobahn 9.3.1)") {
        val size = 4 shl 20
        TestWebSocketServer.withScript(ConnectionScript { c ->
            c.awaitFrame(JDuration.ofSeconds(10)) // the client is ready
            val chunk = ByteArray(64) { 'a'.code.toByte() }
            val frames = java.io.ByteArrayOutputStream(size + (size / 64) * 2)
            for (i in 0 until size / 64) {
                val opcode = if (i == 0) dev.tether.testkit.WireFrame.TEXT else dev.tether.testkit.WireFrame.CONTINUATION
                frames.write(byteArrayOf(((if (i == size / 64 - 1) 0x80 else 0) or opcode).toByte(), 64))
                frames.write(chunk)
            }
            c.sendRaw(frames.toByteArray())
            c.echo()
        }).use { server ->
            quickClient(server.url()) {
                maxFrameSize = size.toLong()
                maxMessageSize = size.toLong()
            }.connect().use { conn ->
                conn.awaitConnected()
                conn.sendText("go")
                val f = withTimeout(20.seconds) { conn.incoming.receive() } as Frame.Text
                f.text.length shouldBe size
            }
        }
    }

    test("15: maxFragments follows maxMessageSize unless set") {
        val b = WebSocketClientBuilder("ws://127.0.0.1:1/")
        b.maxFragments shouldBe 16_384
        b.maxMessageSize = 4L shl 20
        b.maxFragments shouldBe 65_536
        b.maxFragments = 10
        b.maxMessageSize = 64L shl 20
        b.maxFragments shouldBe 10
    }

    test("12: a 1 MiB incompressible message that the server compresses arrives under the default limits") {
        val random = ByteArray(1 shl 20).also { java.util.Random(12).nextBytes(it) }
        val server = TestWebSocketServer(script = ConnectionScript { c ->
            c.awaitFrame(JDuration.ofSeconds(10))
            c.sendBinary(random) // compressed by the test kit: a little larger than 1 MiB on the wire
            c.echo()
        }).apply { compression = dev.tether.testkit.ServerCompression() }.start()
        server.use {
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                conn.sendText("go")
                val f = withTimeout(10.seconds) { conn.incoming.receive() } as Frame.Binary
                f.toByteArray().contentEquals(random) shouldBe true
            }
        }
    }

    test("13: a message that deflate would grow goes uncompressed, and later compressed messages still inflate") {
        val random = ByteArray(1 shl 20).also { java.util.Random(13).nextBytes(it) }
        val server = TestWebSocketServer().apply { compression = dev.tether.testkit.ServerCompression() }.start()
        server.use {
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                val text = "{\"price\": 101.25, \"symbol\": \"ACME\"} ".repeat(200)
                conn.sendText(text) // compressed: the deflater's history now holds it
                conn.sendBinary(random) // would grow: uncompressed, and the history is forgotten
                conn.sendText(text) // compressed again: must not refer to the random bytes
                val got = server.connections[0].awaitReceived(3, FIVE)
                got.map { it.rsv } shouldBe listOf(4, 0, 4)
                got[1].wireLength shouldBe random.size
                withTimeout(10.seconds) {
                    conn.incoming.receive() shouldBe Frame.Text(text)
                    (conn.incoming.receive() as Frame.Binary).toByteArray().contentEquals(random) shouldBe true
                    conn.incoming.receive() shouldBe Frame.Text(text)
                }
            }
        }
    }

    test("14: with serverMaxWindowBits, a server that drops the parameter takes the fallback offer and runs compressed") {
        TestWebSocketServer(
            handshakeHandler = {
                dev.tether.testkit.HandshakeResponse.accept().withHeader("Sec-WebSocket-Extensions", "permessage-deflate")
            },
        ).start().use { server ->
            quickClient(server.url()) { compression { serverMaxWindowBits = 10 } }.connect().use { conn ->
                conn.awaitConnected().handshake.header("sec-websocket-extensions") shouldBe "permessage-deflate"
            }
            server.handshakeRequests[0].header("sec-websocket-extensions")!!.split(", ").size shouldBe 2
        }
    }

    test("12: the 1009 error says which limit: frame or message") {
        val (frameEnd, _) = afterMisbehaviour({ c -> c.sendBinary(ByteArray(2000)) }) { maxFrameSize = 1000 }
        frameEnd.cause!!.message!! shouldContain "frame of 2000 bytes exceeds maxFrameSize (1000 bytes)"
        val (messageEnd, _) = afterMisbehaviour({ c ->
            c.sendFrame(dev.tether.testkit.WireFrame.BINARY, ByteArray(800), fin = false)
            c.sendFrame(dev.tether.testkit.WireFrame.CONTINUATION, ByteArray(800), fin = true)
        }) {
            maxFrameSize = 1000
            maxMessageSize = 1000
        }
        messageEnd.cause!!.message!! shouldContain "message of 1600 bytes exceeds maxMessageSize (1000 bytes)"
    }

    test("18: the first attempt's Connecting(0) is told once; Closed says 1006 when no WebSocket ever existed") {
        TestWebSocketServer.echo().use { server ->
            val states = java.util.Collections.synchronizedList(ArrayList<ConnectionState>())
            quickClient(server.url()) { watch { c -> c.state.collect { states += it } } }.connect().use { conn ->
                conn.awaitConnected()
            }
            states.count { it is ConnectionState.Connecting } shouldBe 1
        }
        val port = java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()).use { it.localPort } // closed
        quickClient("ws://127.0.0.1:$port/") { logErrors = false; reconnect { enabled = false } }.connect().use { conn ->
            val closed = withTimeout(10.seconds) { conn.awaitClosed() }
            closed.code shouldBe CloseCodes.ABNORMAL // no WebSocket: no close frame was ever sent or received
            closed.cause.shouldBeInstanceOf<TetherException.ConnectFailed>()
        }
    }

    test("18: a close reason does not repeat its code") {
        val (d, close) = afterMisbehaviour({ c -> c.sendFrame(3, ByteArray(0)) }) // a reserved opcode
        d.code shouldBe 1002
        d.reason shouldBe "protocol violation: reserved opcode 3"
        close!!.closeReason shouldBe d.reason
    }

    test("19: messages a server floods into a closing client are reported once, with their count") {
        val pad = "x".repeat(1024)
        TestWebSocketServer.withScript(ConnectionScript { c ->
            c.awaitFrame(JDuration.ofSeconds(10))
            try {
                repeat(20_000) { c.sendText(pad) }
            } catch (e: Exception) {
                // the client closed: the flood ends
            }
        }).use { server ->
            val drops = java.util.Collections.synchronizedList(ArrayList<TetherException.MessageDropped>())
            val conn = quickClient(server.url()) {
                closeTimeout = 5.seconds
                onError { e -> if (e is TetherException.MessageDropped) drops += e; Decision.Ignore }
            }.connect()
            conn.awaitConnected()
            conn.sendText("go") // nobody reads incoming: the read-ahead fills and reading pauses
            withTimeout(10.seconds) { while (conn.incomingBacklog < 32) kotlinx.coroutines.delay(10) }
            conn.close(1000, "")
            drops.size shouldBe 1 // one report, not one per message
            (drops.single().count > 1) shouldBe true
            drops.single().message!! shouldContain "arrived while the client was closing"
        }
    }

    test("7: a send's completion handlers never run on an I/O thread, even when the socket was backed up") {
        TestWebSocketServer.withScript { }.use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                server.awaitConnection(FIVE).setReading(false)
                val threads = java.util.Collections.synchronizedList(ArrayList<String>())
                val big = ByteArray(256 shl 10)
                // 40 MiB: past what loopback's socket buffers take, so direct writes wait in the backlog for the loop
                val sends = (1..160).map { conn.enqueue(Frame.Binary(big)) }
                val waited = sends.count { !it.isCompleted } // these complete later, when the socket drains
                sends.forEach { d -> d.invokeOnCompletion { threads += Thread.currentThread().name } }
                (waited > 0) shouldBe true // the socket really backed up: the path under test ran
                server.connections[0].setReading(true)
                withTimeout(20.seconds) { sends.forEach { it.await() } }
                threads.filter { it.startsWith("tether-io") } shouldBe emptyList()
            }
        }
    }

    test("3: a peer that stopped reading is declared dead even with 20 MiB queued (the ping does not wait behind it)") {
        TestWebSocketServer.withScript { }.use { server ->
            quickClient(server.url()) {
                pingInterval = 1.seconds
                pongTimeout = 1.seconds
                onDisconnect { Decision.StayDown }
            }.connect().use { conn ->
                conn.awaitConnected()
                server.awaitConnection(FIVE).setReading(false)
                val big = ByteArray(512 shl 10)
                repeat(40) { conn.enqueue(Frame.Binary(big)) }
                val down = conn.awaitState<ConnectionState.Down>(15.seconds)
                down.disconnect!!.cause.shouldBeInstanceOf<TetherException.DeadLink>()
            }
        }
    }

    test("3: a server's ping is answered, and reading goes on, while 20 MiB wait for the socket") {
        TestWebSocketServer.withScript { }.use { server ->
            quickClient(server.url()) { pingInterval = kotlin.time.Duration.ZERO }.connect().use { conn ->
                conn.awaitConnected()
                val sc = server.awaitConnection(FIVE)
                sc.setReading(false)
                val big = ByteArray(512 shl 10)
                repeat(40) { conn.enqueue(Frame.Binary(big)) }
                withTimeout(10.seconds) { while (conn.outboxDepth == 0 && !big.isEmpty()) kotlinx.coroutines.delay(5); }
                repeat(20) { sc.sendPing("p$it".toByteArray()) } // each pong used to stop the reader behind the data
                sc.sendText("after the pings")
                (withTimeout(10.seconds) { conn.incoming.receive() } as Frame.Text).text shouldBe "after the pings"
                sc.setReading(true)
                val pongs = withTimeout(30.seconds) {
                    sc.awaitReceived(JDuration.ofSeconds(30)) { it.opcode == dev.tether.testkit.WireFrame.PONG && it.text == "p19" }
                }
                pongs.text shouldBe "p19"
            }
        }
    }

    test("3: reconnect() and close() end promptly while a send waits behind a backlog the peer never reads") {
        TestWebSocketServer.withScript { }.use { server ->
            quickClient(server.url()) { pingInterval = kotlin.time.Duration.ZERO; closeTimeout = 2.seconds }.connect().use { conn ->
                conn.awaitConnected()
                server.awaitConnection(FIVE).setReading(false)
                val big = ByteArray(512 shl 10)
                // fill the kernel's buffers with direct writes (nothing counted in the outbox), until one must wait
                withTimeout(10.seconds) { while (conn.enqueue(Frame.Binary(big)).isCompleted) Unit }
                conn.enqueue(Frame.Binary(ByteArray(5 shl 20))) // taken directly too: now past the 4 MiB bound
                conn.outboxDepth shouldBe 0 // so the next send takes the direct path, behind more than the bound
                val sender = async(start = kotlinx.coroutines.CoroutineStart.UNDISPATCHED) { runCatching { conn.sendText("waits") } }
                conn.reconnect()
                conn.awaitState<ConnectionState.Reconnecting>(5.seconds)
                val started = TimeSource.Monotonic.markNow()
                conn.close(1000, "")
                started.elapsedNow().inWholeMilliseconds shouldBeLessThan 3_500
                withTimeout(5.seconds) { sender.await() } // ended, one way or the other
            }
        }
    }

    test("10: when the close deadline cuts the writer off mid-batch, a frame reported failed never reached the server") {
        repeat(3) {
            TestWebSocketServer.withScript { }.use { server ->
                val conn = quickClient(server.url()) { closeTimeout = 1.seconds; pingInterval = kotlin.time.Duration.ZERO }.connect()
                conn.awaitConnected()
                val sc = server.awaitConnection(FIVE)
                sc.setReading(false) // the server stops reading: the writer's batch waits on a full socket
                val pad = ByteArray(64 shl 10)
                val ok = java.util.Collections.synchronizedSet(HashSet<Int>())
                val failed = java.util.Collections.synchronizedSet(HashSet<Int>())
                kotlinx.coroutines.coroutineScope {
                    val sends = (0 until 300).map { i ->
                        launch(kotlinx.coroutines.Dispatchers.Default) {
                            val frame = Frame.Binary(byteArrayOf((i shr 8).toByte(), i.toByte()) + pad)
                            try {
                                conn.send(frame); ok += i
                            } catch (e: TetherException.SendFailed) {
                                failed += i
                            }
                        }
                    }
                    withTimeout(10.seconds) { while (conn.outboxDepth < 64) kotlinx.coroutines.delay(5) }
                    conn.close(1000, "") // the close deadline (1 s) passes with the writer mid-batch
                    sends.forEach { it.join() }
                }
                sc.setReading(true) // now read all that reached the server's side
                sc.awaitClosed(JDuration.ofSeconds(10)) shouldBe true
                val received = sc.received.filter { it.isBinary }.map { it.payload.let { p -> ((p[0].toInt() and 0xff) shl 8) or (p[1].toInt() and 0xff) } }.toSet()
                (ok + failed).size shouldBe 300
                (failed intersect received) shouldBe emptySet() // reported failed, yet received: the defect
                ok shouldBe received
            }
        }
    }

    context("11: the answer to a message delivered just before a bad frame goes out before the close frame (Autobahn NON-STRICT)") {
        for (hooks in listOf(false, true)) {
            test(if (hooks) "answered from onText" else "answered by a coroutine reading incoming") {
                val script = ConnectionScript { c ->
                    c.awaitFrame(JDuration.ofSeconds(10)) // the client is ready
                    // one write: a valid message, then a frame with a reserved opcode
                    c.sendRaw(dev.tether.testkit.WireFrame.encode(dev.tether.testkit.WireFrame.TEXT, "hello".toByteArray()) +
                        dev.tether.testkit.WireFrame.encode(3, ByteArray(0)))
                    c.awaitClosed(JDuration.ofSeconds(10))
                }
                TestWebSocketServer.withScript(script).use { server ->
                    val client = quickClient(server.url()) {
                        onDisconnect { Decision.StayDown }
                        if (hooks) onText { t -> if (t == "hello") sendText("re: $t") }
                    }
                    client.connect().use { conn ->
                        conn.awaitConnected()
                        val answering = if (hooks) null else launch(kotlinx.coroutines.Dispatchers.Default) {
                            for (f in conn.incoming) if (f is Frame.Text) runCatching { conn.sendText("re: ${f.text}") }
                        }
                        conn.sendText("ready")
                        conn.awaitState<ConnectionState.Down>()
                        answering?.cancel()
                        val sc = server.connections[0]
                        sc.awaitClosed(FIVE) shouldBe true
                        val got = sc.received.map { if (it.opcode == dev.tether.testkit.WireFrame.CLOSE) "close ${it.closeCode}" else it.text }
                        got shouldBe listOf("ready", "re: hello", "close 1002")
                    }
                }
            }
        }
    }
})
