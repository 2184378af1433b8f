@file:OptIn(kotlinx.coroutines.ExperimentalCoroutinesApi::class)

package dev.tether

import dev.tether.testkit.ConnectionScript
import dev.tether.testkit.HandshakeResponse
import dev.tether.testkit.TestWebSocketServer
import dev.tether.testkit.WireFrame
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.ints.shouldBeLessThan
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource

/**
 * The connection's contracts under races (issue 9): one owner for commands, honest send results, bounded close,
 * liveness independent of consumers, ordering, waits that end. Each test failed on the code before the fix.
 */
class SemanticsTest : FunSpec({

    context("honest send results: a frame the server received is never reported lost") {
        withData(mapOf("500 queued, then close()" to 500, "200 concurrent, then close()" to 200)) { n ->
            TestWebSocketServer.withScript { it.awaitClosed(java.time.Duration.ofSeconds(10)) }.use { server ->
                val conn = quickClient(server.url()) { closeTimeout = 5.seconds }.connect()
                conn.awaitConnected()
                val pad = "p".repeat(4096) // big enough that writes are still in flight when close() comes
                val ok = Collections.synchronizedSet(HashSet<String>())
                val failed = Collections.synchronizedSet(HashSet<String>())
                coroutineScope {
                    val sends = (1..n).map { i ->
                        launch(Dispatchers.Default) {
                            try {
                                conn.sendText("m$i:$pad"); ok += "m$i"
                            } catch (e: TetherException.SendFailed) {
                                failed += "m$i"
                            }
                        }
                    }
                    conn.close(1000, "")
                    sends.forEach { it.join() }
                }
                val received = server.connections.single().received.filter { it.isText }.map { it.text.substringBefore(':') }.toSet()
                (ok + failed).size shouldBe n
                ok shouldBe received // every frame written is reported written, and only those
            }
        }
    }

    test("reconnect() right after awaitConnected() is never lost") {
        TestWebSocketServer.echo().use { server ->
            repeat(25) {
                quickClient(server.url()) { pingInterval = kotlin.time.Duration.ZERO }.connect().use { conn ->
                    conn.awaitConnected()
                    conn.reconnect()
                    conn.awaitState<ConnectionState.Reconnecting>(5.seconds)
                }
            }
        }
    }

    test("an onError decision taken while reconnecting is applied: Close closes the client") {
        val server = TestWebSocketServer(handshakeHandler = { HandshakeResponse.refuse(503) }).start()
        server.use {
            val conn = quickClient(server.url()) {
                reconnect { backoff(60_000, 60_000, 1.0) }
                outgoingBuffer(1, OverflowPolicy.DROP_OLDEST)
                onError { e -> if (e is TetherException.SendFailed) Decision.Close(4001, "dropped") else Decision.Reconnect }
            }.connect()
            conn.use {
                conn.awaitState<ConnectionState.Reconnecting>()
                conn.outgoing.trySend(Frame.Text("a"))
                conn.outgoing.trySend(Frame.Text("b")) // drops "a": reported to onError, which decides Close
                val closed = withTimeout(5.seconds) { conn.awaitClosed() }
                closed.code shouldBe 4001
            }
        }
    }

    test("a Frame.Close sent on outgoing while offline closes the client") {
        val server = TestWebSocketServer(handshakeHandler = { HandshakeResponse.refuse(503) }).start()
        server.use {
            val conn = quickClient(server.url()) { reconnect { backoff(60_000, 60_000, 1.0) } }.connect()
            conn.use {
                conn.awaitState<ConnectionState.Reconnecting>()
                conn.outgoing.send(Frame.Close(4002, "bye"))
                withTimeout(5.seconds) { conn.awaitClosed() }.code shouldBe 4002
            }
        }
    }

    test("awaitConnected() fails with the cause when the client goes Down (404)") {
        val server = TestWebSocketServer(handshakeHandler = { HandshakeResponse.refuse(404) }).start()
        server.use {
            quickClient(server.url()).connect().use { conn ->
                val e = shouldThrow<IllegalStateException> { withTimeout(5.seconds) { conn.awaitConnected() } }
                e.message shouldContain "Down"
                // (coroutines' stack-trace recovery may wrap the exception in a copy of itself: look down the chain)
                generateSequence<Throwable>(e) { it.cause }.filterIsInstance<TetherException.HandshakeFailed>()
                    .first().status shouldBe 404
            }
        }
    }

    test("with reconnect disabled, a failed attempt ends in Closed and awaitClosed() returns") {
        val server = TestWebSocketServer(handshakeHandler = { HandshakeResponse.refuse(503) }).start()
        server.use {
            quickClient(server.url()) { reconnect { enabled = false } }.connect().use { conn ->
                val closed = withTimeout(5.seconds) { conn.awaitClosed() }
                closed.cause.shouldBeInstanceOf<TetherException.HandshakeFailed>().status shouldBe 503
            }
        }
    }

    test("with reconnect disabled, a 404 (default StayDown) also ends in Closed") {
        val server = TestWebSocketServer(handshakeHandler = { HandshakeResponse.refuse(404) }).start()
        server.use {
            quickClient(server.url()) { reconnect { enabled = false } }.connect().use { conn ->
                withTimeout(5.seconds) { conn.awaitClosed() }.cause.shouldBeInstanceOf<TetherException.HandshakeFailed>()
            }
        }
    }

    context("closing from inside a hook returns promptly") {
        test("the blocking close() from onText") {
            TestWebSocketServer.withScript { it.sendText("x"); it.echo() }.use { server ->
                val returned = CountDownLatch(1)
                val conn = quickClient(server.url()) {
                    closeTimeout = 30.seconds
                    onText { connection.close(); returned.countDown() }
                }.connect()
                returned.await(10, TimeUnit.SECONDS) shouldBe true
                withTimeout(10.seconds) { conn.awaitClosed() }.code shouldBe 1000
            }
        }
        test("the suspending close() from onText returns the terminal state well within closeTimeout") {
            TestWebSocketServer.withScript { it.sendText("x"); it.echo() }.use { server ->
                val result = CompletableDeferred<Pair<ConnectionState.Closed, Long>>()
                val conn = quickClient(server.url()) {
                    closeTimeout = 30.seconds
                    onText {
                        val t0 = TimeSource.Monotonic.markNow()
                        val s = connection.close(4003, "from hook")
                        result.complete(s to t0.elapsedNow().inWholeMilliseconds)
                    }
                }.connect()
                val (closed, ms) = withTimeout(10.seconds) { result.await() }
                closed.code shouldBe 4003
                ms shouldBeLessThan 10_000L
                withTimeout(10.seconds) { conn.awaitClosed() }
            }
        }
    }

    test("runBlocking { connectIn(this).use { } } does not deadlock") {
        TestWebSocketServer.echo().use { server ->
            val client = quickClient(server.url()) { closeTimeout = 30.seconds }
            val done = CountDownLatch(1)
            val t = Thread {
                runBlocking {
                    client.connectIn(this).use { it.awaitConnected() }
                }
                done.countDown()
            }
            t.isDaemon = true
            t.start()
            done.await(10, TimeUnit.SECONDS) shouldBe true
        }
    }

    test("a hook that blocks cannot hold close() beyond closeTimeout") {
        TestWebSocketServer.withScript { it.sendText("x"); it.echo() }.use { server ->
            val entered = CountDownLatch(1)
            val release = CountDownLatch(1)
            val conn = quickClient(server.url()) {
                closeTimeout = 1.seconds
                onText { entered.countDown(); release.await(30, TimeUnit.SECONDS) }
            }.connect()
            try {
                entered.await(10, TimeUnit.SECONDS) shouldBe true
                val t0 = TimeSource.Monotonic.markNow()
                conn.close(1000, "")
                t0.elapsedNow().inWholeMilliseconds shouldBeLessThan 3_000L // closeTimeout + documented slack
            } finally {
                release.countDown()
            }
        }
    }

    test("a hook that suspends cannot hold close() beyond closeTimeout: it is cancelled") {
        TestWebSocketServer.withScript { it.sendText("x"); it.echo() }.use { server ->
            val entered = CompletableDeferred<Unit>()
            val cancelled = CompletableDeferred<Unit>()
            val conn = quickClient(server.url()) {
                closeTimeout = 1.seconds
                onText {
                    entered.complete(Unit)
                    try {
                        delay(30_000)
                    } catch (e: kotlinx.coroutines.CancellationException) {
                        cancelled.complete(Unit)
                        throw e
                    }
                }
            }.connect()
            withTimeout(10.seconds) { entered.await() }
            val t0 = TimeSource.Monotonic.markNow()
            conn.close(1000, "")
            t0.elapsedNow().inWholeMilliseconds shouldBeLessThan 3_000L // closeTimeout + documented slack
            withTimeout(5.seconds) { cancelled.await() }
        }
    }

    test("close() with a full incoming buffer answers the server's close promptly") {
        TestWebSocketServer.withScript { c -> repeat(200) { c.sendText("m$it") }; c.echo() }.use { server ->
            val conn = quickClient(server.url()) {
                closeTimeout = 30.seconds
                incomingBuffer(4, OverflowPolicy.SUSPEND)
            }.connect()
            conn.awaitConnected()
            val sc = server.awaitConnection(FIVE)
            // the buffer is full and nobody reads: wait until the reader is blocked behind it
            withTimeout(5.seconds) { while (conn.incoming.isEmpty) delay(5) }
            val t0 = TimeSource.Monotonic.markNow()
            conn.close(1000, "").code shouldBe 1000
            t0.elapsedNow().inWholeMilliseconds shouldBeLessThan 10_000L
            sc.received.last().closeCode shouldBe 1000
        }
    }

    test("reconnect() on a dead link goes straight to Reconnecting, without waiting for a close answer") {
        TestWebSocketServer.echo().use { server ->
            server.onAccept = ConnectionScript { c -> if (c.id == 1) c.answerClose = false }
            val conn = quickClient(server.url()) {
                closeTimeout = 30.seconds
                reconnect { backoff(10, 10, 1.0) }
            }.connect()
            conn.use {
                conn.awaitConnected()
                val seen = statesDuring(conn) {
                    val t0 = TimeSource.Monotonic.markNow()
                    conn.reconnect()
                    conn.awaitState<ConnectionState.Connected>(10.seconds) { it.attempt == 1 }
                    t0.elapsedNow().inWholeMilliseconds shouldBeLessThan 10_000L
                }
                seen.filterIsInstance<ConnectionState.Closing>().shouldBeEmpty()
            }
        }
    }

    test("a consumer that pauses longer than the pong timeout causes no reconnect") {
        TestWebSocketServer.withScript { c -> repeat(100) { c.sendText("m$it") }; c.echo() }.use { server ->
            val pongs = AtomicInteger()
            val conn = quickClient(server.url()) {
                pingInterval = 1.seconds
                pongTimeout = 1.seconds // a late pong on a busy machine is not a dead link
                incomingBuffer(2, OverflowPolicy.SUSPEND)
                onPong { _, rtt -> if (rtt != null) pongs.incrementAndGet() }
            }.connect()
            conn.use {
                conn.awaitConnected()
                val seen = statesDuring(conn) {
                    // The stimulus, not an assertion: the consumer takes nothing for 3 pong timeouts. What is checked
                    // afterwards waits on events (every message, then two more answered pings).
                    delay(3_000)
                    repeat(100) { i -> (conn.incoming.receive() as Frame.Text).text shouldBe "m$i" }
                    val before = pongs.get()
                    withTimeout(5.seconds) { while (pongs.get() < before + 2) delay(10) } // keepalive ran on
                }
                seen.filterIsInstance<ConnectionState.Reconnecting>().shouldBeEmpty()
                server.connections.size shouldBe 1
            }
        }
    }

    test("frames from onConnect go before frames queued while offline") {
        val n = AtomicInteger()
        TestWebSocketServer.withScript { c -> if (n.incrementAndGet() == 1) { c.awaitFrame(FIVE); c.drop() } else c.echo() }
            .use { server ->
                val conn = quickClient(server.url()) {
                    reconnect { backoff(60_000, 60_000, 1.0) }
                    onConnect { delay(50); sendText("subscribe") }
                }.connect()
                conn.use {
                    conn.awaitState<ConnectionState.Reconnecting>()
                    conn.outgoing.send(Frame.Text("queued"))
                    conn.reconnect()
                    conn.awaitState<ConnectionState.Connected> { it.attempt == 1 }
                    val second = server.awaitConnection(FIVE).let { if (it.id == 1) server.awaitConnection(FIVE) else it }
                    second.awaitReceived(2, FIVE).map { it.text } shouldContainExactly listOf("subscribe", "queued")
                }
            }
    }

    test("frames from onConnect go before a send made right after awaitConnected()") {
        TestWebSocketServer.echo().use { server ->
            val conn = quickClient(server.url()) { onConnect { delay(50); sendText("subscribe") } }.connect()
            conn.use {
                conn.awaitConnected()
                conn.sendText("after")
                server.awaitConnection(FIVE).awaitReceived(2, FIVE).map { it.text } shouldContainExactly
                    listOf("subscribe", "after")
            }
        }
    }

    test("frames queued before a protocol error are written before the close frame") {
        val go = CountDownLatch(1)
        TestWebSocketServer.withScript { c ->
            c.setReading(false) // the client's writes back up
            go.await(10, TimeUnit.SECONDS)
            c.sendFrame(0x3, ByteArray(0)) // a reserved opcode: 1002
            c.setReading(true)
            c.awaitClosed(java.time.Duration.ofSeconds(10))
        }.use { server ->
            val conn = quickClient(server.url()) {
                closeTimeout = 10.seconds
                outgoingBuffer(256, OverflowPolicy.SUSPEND)
                reconnect { enabled = false }
            }.connect()
            conn.use {
                conn.awaitConnected()
                val big = "x".repeat(64 * 1024)
                (1..60).forEach { i -> conn.outgoing.send(Frame.Text("$i:$big")) } // queued (or stuck in the socket)
                go.countDown()
                val sc = server.connections.single()
                withTimeout(10.seconds) { conn.awaitClosed() }.code shouldBe 1002
                sc.awaitClosed(FIVE)
                val frames = sc.received
                frames.filter { it.isText }.map { it.text.substringBefore(':') } shouldContainExactly (1..60).map { "$it" }
                frames.last().closeCode shouldBe 1002
            }
        }
    }

    test("with an onText hook, reading incoming fails with a clear message instead of staying empty") {
        TestWebSocketServer.echo().use { server ->
            quickClient(server.url()) { onText { } }.connect().use { conn ->
                val e = shouldThrow<IllegalStateException> { withTimeout(5.seconds) { conn.incoming.receive() } }
                e.message shouldContain "onText"
            }
        }
    }

    test("the closing handshake logs only what happened") {
        // slf4j-simple writes to whatever System.err is at the time: capture it around each close
        fun warningsDuringClose(answer: Boolean, script: ConnectionScript): String {
            TestWebSocketServer.withScript(script).use { server ->
                // set before the client can send its close: a script would race it
                server.onAccept = ConnectionScript { it.answerClose = answer }
                val conn = quickClient(server.url()) { closeTimeout = 1.seconds; logInfo = false }.connect()
                runBlocking { conn.awaitConnected() }
                return stderrLinesDuring(server.port) { runBlocking { conn.close(1000, "") } }
            }
        }
        // the server answers: nothing to say
        warningsDuringClose(answer = true) { it.echo() } shouldBe ""
        // the server shuts TCP as soon as our close arrives, without a close frame: not a timeout
        warningsDuringClose(answer = false) { c ->
            while (true) {
                val f = c.nextFrame(FIVE) ?: break
                if (f.opcode == WireFrame.CLOSE) {
                    c.drop()
                    break
                }
            }
        } shouldBe ""
        // the server never answers and keeps the connection open: that is worth a warning
        val silent = CountDownLatch(1)
        try {
            warningsDuringClose(answer = false) { silent.await(10, TimeUnit.SECONDS) } shouldContain
                "did not answer the close frame within"
        } finally {
            silent.countDown()
        }
    }
})

/** Runs [block] and returns every state [conn] showed meanwhile. */
private suspend fun statesDuring(conn: Connection, block: suspend () -> Unit): List<ConnectionState> = coroutineScope {
    val seen = java.util.concurrent.CopyOnWriteArrayList<ConnectionState>()
    val watcher = launch(Dispatchers.Default) { conn.state.collect { seen += it } }
    try {
        block()
    } finally {
        watcher.cancel()
    }
    seen
}
