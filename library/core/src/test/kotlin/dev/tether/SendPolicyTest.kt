package dev.tether

import dev.tether.TetherException.SendFailure
import dev.tether.testkit.TestWebSocketServer
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.yield
import kotlinx.coroutines.withTimeout
import kotlin.time.Duration.Companion.seconds

/** Starts a client whose server is down (stopped after the first connect), so sends wait in the outbox. */
private suspend fun offline(
    server: TestWebSocketServer,
    block: WebSocketClientBuilder.() -> Unit,
): Connection {
    val conn = quickClient(server.url()) {
        reconnect { backoff(100, 100, 1.0); jitter(0.0) }
        block()
    }.connect()
    conn.awaitConnected()
    server.awaitConnection(FIVE)
    server.stop()
    conn.awaitState<ConnectionState.Reconnecting>()
    return conn
}

private suspend fun failureOf(block: suspend () -> Unit): SendFailure =
    shouldThrow<TetherException.SendFailed> { block() }.reason

class SendPolicyTest : FunSpec({

    test("REJECT: sends while disconnected fail at once with NOT_CONNECTED") {
        TestWebSocketServer.echo().use { server ->
            offline(server) { offlinePolicy = OfflinePolicy.REJECT }.use { conn ->
                failureOf { conn.sendText("x") } shouldBe SendFailure.NOT_CONNECTED
            }
        }
    }

    test("FAIL: a full outgoing buffer fails the send at once") {
        TestWebSocketServer.echo().use { server ->
            offline(server) { outgoingBuffer(2, OverflowPolicy.FAIL) }.use { conn ->
                coroutineScope {
                    val a = async { conn.sendText("a") }
                    val b = async { conn.sendText("b") }
                    yield()
                    failureOf { conn.sendText("c") } shouldBe SendFailure.BUFFER_FULL
                    server.start()
                    withTimeout(5.seconds) { a.await(); b.await() }
                    server.awaitConnection(FIVE).awaitReceived(2, FIVE).map { it.text } shouldContainExactly listOf("a", "b")
                }
            }
        }
    }

    test("DROP_OLDEST: the evicted frame's sender is told; the rest is written in order") {
        TestWebSocketServer.echo().use { server ->
            offline(server) { outgoingBuffer(2, OverflowPolicy.DROP_OLDEST) }.use { conn ->
                coroutineScope {
                    val a = async { runCatching { conn.sendText("a") } }
                    yield()
                    val b = async { conn.sendText("b") }
                    yield()
                    val c = async { conn.sendText("c") }
                    yield()
                    (a.await().exceptionOrNull() as TetherException.SendFailed).reason shouldBe SendFailure.DROPPED_OLDEST
                    server.start()
                    withTimeout(5.seconds) { b.await(); c.await() }
                    server.awaitConnection(FIVE).awaitReceived(2, FIVE).map { it.text } shouldContainExactly listOf("b", "c")
                }
            }
        }
    }

    test("DROP_NEWEST: the new frame's sender is told at once") {
        TestWebSocketServer.echo().use { server ->
            offline(server) { outgoingBuffer(1, OverflowPolicy.DROP_NEWEST) }.use { conn ->
                coroutineScope {
                    val a = async { conn.sendText("a") }
                    yield()
                    failureOf { conn.sendText("b") } shouldBe SendFailure.DROPPED_NEWEST
                    a.cancel()
                }
            }
        }
    }

    test("a frame dropped from the outgoing channel is reported to onError") {
        TestWebSocketServer.echo().use { server ->
            val reported = CompletableDeferred<TetherException>()
            offline(server) {
                outgoingBuffer(1, OverflowPolicy.DROP_OLDEST)
                onError { e -> reported.complete(e); Decision.Ignore }
            }.use { conn ->
                conn.outgoing.send(Frame.Text("old"))
                conn.outgoing.send(Frame.Text("new"))
                val e = withTimeout(5.seconds) { reported.await() } as TetherException.SendFailed
                e.frame shouldBe Frame.Text("old")
                e.reason shouldBe SendFailure.DROPPED_OLDEST
            }
        }
    }

    test("incoming DROP_OLDEST: a slow consumer loses the oldest messages and each drop is reported") {
        TestWebSocketServer.withScript { c -> (1..5).forEach { c.sendText("m$it") }; c.echo() }.use { server ->
            val dropped = java.util.Collections.synchronizedList(ArrayList<Frame>())
            quickClient(server.url()) {
                incomingBuffer(2, OverflowPolicy.DROP_OLDEST)
                onError { e -> if (e is TetherException.MessageDropped) dropped += e.frame; Decision.Ignore }
            }.connect().use { conn ->
                conn.awaitConnected()
                withTimeout(5.seconds) { while (dropped.size < 3) kotlinx.coroutines.delay(10) }
                dropped shouldContainExactly listOf(Frame.Text("m1"), Frame.Text("m2"), Frame.Text("m3"))
                conn.incoming.receive() shouldBe Frame.Text("m4")
                conn.incoming.receive() shouldBe Frame.Text("m5")
            }
        }
    }

    test("a flood of dropped messages is reported for each but logged once per window") {
        val captured = java.io.ByteArrayOutputStream()
        val original = System.err
        System.setErr(java.io.PrintStream(captured, true))
        var id = ""
        try {
            TestWebSocketServer.withScript { c -> (1..200).forEach { c.sendText("m$it") }; c.echo() }.use { server ->
                val dropped = java.util.concurrent.atomic.AtomicInteger()
                quickClient(server.url()) {
                    logErrors = true
                    incomingBuffer(2, OverflowPolicy.DROP_OLDEST)
                    onError { e -> if (e is TetherException.MessageDropped) dropped.incrementAndGet(); Decision.Ignore }
                }.connect().use { conn ->
                    id = conn.id
                    conn.awaitConnected()
                    withTimeout(5.seconds) { while (dropped.get() < 198) kotlinx.coroutines.delay(10) }
                }
            }
        } finally {
            System.setErr(original)
        }
        // this connection's lines only: one from an earlier test's connection may land in the same capture
        val lines = captured.toString().lines().filter { "[$id#" in it && "incoming buffer full" in it }
        lines.size shouldBe 1
    }

    test("sends still queued when the client closes fail with CLOSED, and later sends too") {
        TestWebSocketServer.echo().use { server ->
            val conn = offline(server) { }
            coroutineScope {
                val pending = async { runCatching { conn.sendText("never") } }
                yield()
                conn.close(1000)
                (pending.await().exceptionOrNull() as TetherException.SendFailed).reason shouldBe SendFailure.CLOSED
            }
            failureOf { conn.sendText("late") } shouldBe SendFailure.CLOSED
        }
    }
})
