package dev.tether

import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainInOrder
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import kotlin.time.Duration.Companion.seconds

/** [Connection.events]: every transition in order, frames both ways, pongs, failed sends, and counted drops. */
class EventsTest : FunSpec({

    test("a reconnect and a close, told in order, with the frames both ways and the pong") {
        TestWebSocketServer.echo().use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                val seen = java.util.concurrent.CopyOnWriteArrayList<ConnectionEvent>()
                val closed = CompletableDeferred<Unit>()
                val collector = launch(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) {
                    conn.events.collect { e ->
                        seen += e
                        if (e is ConnectionEvent.Closed) closed.complete(Unit)
                    }
                }
                withTimeout(10.seconds) {
                    conn.sendText("hi")
                    conn.incoming.receive()
                    conn.send(Frame.Ping(byteArrayOf(7)))
                    while (seen.none { it is ConnectionEvent.Pong }) kotlinx.coroutines.delay(5)
                    server.connections[0].close(4000, "bye")
                    conn.awaitState<ConnectionState.Reconnecting>()
                    conn.awaitConnected()
                    conn.close(1000, "done")
                    closed.await()
                }
                collector.cancel()
                val kinds = seen.map { it.javaClass.simpleName }
                kinds.shouldContainInOrder(
                    "FrameOut", "FrameIn", // hi and its echo
                    "FrameOut", "FrameIn", "Pong", // a ping and its pong
                    "FrameIn", "Disconnected", "ReconnectScheduled", "Connecting", "Connected", // the server's close
                    "Closing", "Closed",
                )
                seen.all { it.connectionId == conn.id } shouldBe true
                seen.filterIsInstance<ConnectionEvent.FrameOut>().first().let { it.kind shouldBe FrameKind.TEXT; it.size shouldBe 2 }
                seen.filterIsInstance<ConnectionEvent.Disconnected>().first().disconnect.code shouldBe 4000
                seen.filterIsInstance<ConnectionEvent.ReconnectScheduled>().single().attempt shouldBe 1
                seen.filterIsInstance<ConnectionEvent.Closed>().single().code shouldBe 1000
                // printed, the closing events tell the reason too (issue 24)
                seen.filterIsInstance<ConnectionEvent.Closing>().single().toString() shouldBe "Closing(1000, \"done\")"
                seen.filterIsInstance<ConnectionEvent.Closed>().single().toString() shouldBe "Closed(1000, \"done\", cause=null)"
            }
        }
    }

    test("connect failures and failed sends are told") {
        TestWebSocketServer(handshakeHandler = { dev.tether.testkit.HandshakeResponse.refuse(503) }).start().use { server ->
            quickClient(server.url()) { logErrors = false; offlinePolicy = OfflinePolicy.REJECT }.connect().use { conn ->
                val seen = java.util.concurrent.CopyOnWriteArrayList<ConnectionEvent>()
                val collector = launch(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) { conn.events.collect { seen += it } }
                withTimeout(10.seconds) {
                    while (seen.none { it is ConnectionEvent.ConnectFailed }) kotlinx.coroutines.delay(5)
                    runCatching { conn.sendText("nobody") } // REJECT while not connected
                    while (seen.none { it is ConnectionEvent.SendFailed }) kotlinx.coroutines.delay(5)
                }
                collector.cancel()
                seen.filterIsInstance<ConnectionEvent.ConnectFailed>().first().let { e ->
                    e.error.shouldBeInstanceOf<TetherException.HandshakeFailed>()
                    e.toString() shouldContain "ConnectFailed(attempt=0, HandshakeFailed: " // and the error's message
                    e.toString() shouldContain "503"
                }
                seen.filterIsInstance<ConnectionEvent.SendFailed>().first().reason shouldBe TetherException.SendFailure.NOT_CONNECTED
            }
        }
    }

    test("a collector that lags loses the newest events, counted, and never slows the connection") {
        val n = 1500
        TestWebSocketServer.echo().use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                val stuck = CompletableDeferred<Unit>()
                val release = CompletableDeferred<Unit>()
                val seen = java.util.concurrent.CopyOnWriteArrayList<ConnectionEvent>()
                val collector = launch(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) {
                    conn.events.collect { e ->
                        seen += e
                        if (!stuck.isCompleted) {
                            stuck.complete(Unit)
                            release.await()
                        }
                    }
                }
                withTimeout(20.seconds) {
                    conn.sendText("first")
                    stuck.await()
                    repeat(n) { conn.sendText("m$it") } // 2 events each (out and the echo in) while the collector is stuck
                    repeat(n + 1) { conn.incoming.receive() }
                    release.complete(Unit)
                    // the count comes with the next event that finds room: send until one has come after it
                    while (seen.drop(1).none { it is ConnectionEvent.EventsDropped } ||
                        seen.last() is ConnectionEvent.EventsDropped
                    ) {
                        conn.sendText("after")
                        kotlinx.coroutines.delay(5)
                    }
                }
                collector.cancel()
                // more than one when the buffer fills again at the edge; each counts what it missed
                val dropped = seen.filterIsInstance<ConnectionEvent.EventsDropped>().sumOf { it.count }
                val at = seen.indexOfFirst { it is ConnectionEvent.EventsDropped }
                (at - 1) shouldBe Connection.EVENT_BUFFER // the buffer kept that many while the collector was stuck
                (dropped >= 2L * n + 1 - Connection.EVENT_BUFFER) shouldBe true // the rest, counted
                seen.take(at).filterNot { it is ConnectionEvent.FrameOut || it is ConnectionEvent.FrameIn } shouldBe emptyList()
            }
        }
    }

    test("watch { } sees every event from before the first attempt, and ends after Closed; one that throws harms nothing") {
        TestWebSocketServer.echo().use { server ->
            val seen = java.util.concurrent.CopyOnWriteArrayList<ConnectionEvent>()
            val finished = CompletableDeferred<Unit>()
            val conn = quickClient(server.url()) {
                logErrors = false
                watch { c -> error("a broken watcher") }
                watch { c ->
                    c.events.collect { e ->
                        seen += e
                        if (e is ConnectionEvent.Closed) throw kotlinx.coroutines.CancellationException("done")
                    }
                }
                watch { c -> try { c.events.collect { } } finally { finished.complete(Unit) } } // never ends by itself
            }.connect()
            withTimeout(10.seconds) {
                conn.awaitConnected()
                conn.close(1000)
                finished.await() // cancelled once the connection had closed
            }
            seen.map { it.javaClass.simpleName }.take(2) shouldBe listOf("Connecting", "Connected")
            (seen.first() as ConnectionEvent.Connecting).attempt shouldBe 0
            seen.last().shouldBeInstanceOf<ConnectionEvent.Closed>()
        }
    }

    test("the outbox's depth is told when it reaches half the buffer, all of it, and when it drains") {
        val accept = java.util.concurrent.atomic.AtomicBoolean(false)
        TestWebSocketServer(handshakeHandler = {
            if (accept.get()) dev.tether.testkit.HandshakeResponse.accept() else dev.tether.testkit.HandshakeResponse.refuse(503)
        }).start().use { server ->
            quickClient(server.url()) { logErrors = false; outgoingBuffer(4) }.connect().use { conn ->
                val seen = java.util.concurrent.CopyOnWriteArrayList<ConnectionEvent.OutboxDepth>()
                val collector = launch(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) {
                    conn.events.collect { if (it is ConnectionEvent.OutboxDepth) seen += it }
                }
                withTimeout(10.seconds) {
                    val sent = (1..4).map { conn.enqueue(Frame.Text("m$it")) } // offline: they wait in the outbox
                    while (seen.size < 2) kotlinx.coroutines.delay(5)
                    accept.set(true)
                    sent.forEach { it.await() }
                    while (seen.size < 3) kotlinx.coroutines.delay(5)
                }
                collector.cancel()
                seen.map { it.depth } shouldBe listOf(2, 4, 0)
                seen.all { it.capacity == 4 } shouldBe true
            }
        }
    }

    test("incomingBacklog counts what waits past a full incoming buffer, and drains to 0") {
        TestWebSocketServer.withScript { c -> repeat(20) { c.sendText("m$it") }; c.echo() }.use { server ->
            quickClient(server.url()) { incomingBuffer(4) }.connect().use { conn ->
                withTimeout(10.seconds) {
                    while (conn.incomingBacklog < 16) kotlinx.coroutines.delay(5) // 4 in the buffer, 16 behind it
                    repeat(20) { conn.incoming.receive() }
                    while (conn.incomingBacklog != 0) kotlinx.coroutines.delay(5)
                }
            }
        }
    }
})
