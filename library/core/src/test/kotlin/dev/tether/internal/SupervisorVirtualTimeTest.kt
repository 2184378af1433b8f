@file:OptIn(kotlinx.coroutines.ExperimentalCoroutinesApi::class)

package dev.tether.internal

import dev.tether.ConnectionState
import dev.tether.Connection
import dev.tether.TetherException
import dev.tether.WebSocketClient
import dev.tether.WebSocketClientBuilder
import dev.tether.webSocketClient
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.async
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.TestScope
import kotlinx.coroutines.test.advanceTimeBy
import kotlinx.coroutines.test.runCurrent
import kotlinx.coroutines.test.runTest
import kotlin.random.Random
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

private fun TestScope.start(
    fake: FakeTransport,
    block: WebSocketClientBuilder.() -> Unit,
): Connection {
    val config = webSocketClient("ws://127.0.0.1:1/x") {
        logInfo = false
        logErrors = false
        // deterministic delays unless a test asks for jitter: a random delay of 0 ms would let the conflated state
        // flow skip Reconnecting, which several tests wait for
        reconnect { jitter(0.0) }
        block()
    }.config
    return WebSocketClient(config, { fake }, testScheduler.timeSource).connectIn(backgroundScope)
}

private fun deltas(times: List<Long>): List<Long> = times.zipWithNext { a, b -> b - a }

class SupervisorVirtualTimeTest : FunSpec({

    test("without jitter the delays follow initial * factor^(n-1), capped") {
        runTest {
            lateinit var fake: FakeTransport
            fake = FakeTransport(testScheduler) { FakeTransport.Behavior.Refuse }
            val conn = start(fake) {
                pingInterval = Duration.ZERO
                reconnect {
                    backoff(250, 30_000, 1.5)
                    jitter(0.0)
                }
            }
            val reconnecting = ArrayList<Duration>()
            backgroundScope.launchCollect(conn) { if (it is ConnectionState.Reconnecting) reconnecting += it.delay }
            advanceTimeBy(200_000)
            val expected = listOf(250L, 375, 562, 843, 1265, 1898, 2847, 4271, 6407, 9610, 14416, 21624, 30000, 30000)
            deltas(fake.openTimes).take(expected.size) shouldContainExactly expected
            reconnecting.take(expected.size).map { it.inWholeMilliseconds } shouldContainExactly expected
            conn.state.value.shouldBeInstanceOf<ConnectionState.Reconnecting>()
        }
    }

    test("with jitter every delay lies in [d * (1 - j), d] and never exceeds the cap") {
        runTest {
            val fake = FakeTransport(testScheduler) { FakeTransport.Behavior.Refuse }
            start(fake) {
                pingInterval = Duration.ZERO
                reconnect {
                    backoff(250, 5_000, 2.0)
                    jitter(0.5)
                    random = Random(42)
                }
            }
            advanceTimeBy(300_000)
            val ds = deltas(fake.openTimes)
            (ds.size > 40) shouldBe true
            ds.forEachIndexed { i, d ->
                val base = minOf(5_000.0, 250 * Math.pow(2.0, i.toDouble())).toLong()
                (d in (base / 2)..base) shouldBe true
            }
            (ds.toSet().size >= 10) shouldBe true // jitter really varies the delays
        }
    }

    test("the attempt count resets only after the connection stayed up for stableAfter") {
        runTest {
            // 0,1,2 refused; 3 up 5 s (unstable); 4 refused; 5 up 15 s (stable); then refused
            val fake = FakeTransport(testScheduler) { n ->
                when (n) {
                    3 -> FakeTransport.Behavior.Accept(upMillis = 5_000)
                    5 -> FakeTransport.Behavior.Accept(upMillis = 15_000)
                    else -> FakeTransport.Behavior.Refuse
                }
            }
            val conn = start(fake) {
                pingInterval = Duration.ZERO
                reconnect {
                    backoff(100, 60_000, 2.0)
                    jitter(0.0)
                    stableAfter = 10.seconds
                }
            }
            val attempts = ArrayList<Int>()
            backgroundScope.launchCollect(conn) { if (it is ConnectionState.Connecting) attempts += it.attempt }
            advanceTimeBy(40_000)
            // delays: 100, 200, 400 | up 5000 | 800 (attempt 4 continues the streak) | 1600 | up 15000 | 100 (reset)
            deltas(fake.openTimes).take(6) shouldContainExactly listOf(100L, 200, 400, 5_000 + 800, 1_600, 15_000 + 100)
            attempts.take(7) shouldContainExactly listOf(0, 1, 2, 3, 4, 5, 1)
        }
    }

    test("maxAttempts ends the client with ReconnectExhausted") {
        runTest {
            val fake = FakeTransport(testScheduler) { FakeTransport.Behavior.Refuse }
            val conn = start(fake) {
                pingInterval = Duration.ZERO
                reconnect {
                    backoff(100, 1_000, 2.0)
                    jitter(0.0)
                    maxAttempts = 3
                }
            }
            val closed = conn.awaitClosed()
            fake.openTimes.size shouldBe 4
            val cause = closed.cause.shouldBeInstanceOf<TetherException.ReconnectExhausted>()
            cause.attempts shouldBe 3
            cause.lastCause.shouldBeInstanceOf<TetherException.ConnectFailed>()
            fake.closed shouldBe true
        }
    }

    test("keepalive: a peer that answers pings stays up; one that does not is dead after interval + pong timeout") {
        runTest {
            val fake = FakeTransport(testScheduler) { n -> FakeTransport.Behavior.Accept(answerPings = n == 0) }
            val conn = start(fake) {
                pingInterval = 30.seconds
                pongTimeout = 10.seconds
                reconnect { jitter(0.0) }
            }
            advanceTimeBy(10 * 60_000L)
            runCurrent()
            fake.openTimes.size shouldBe 1 // answered every ping for ten minutes
            val pings = fake.sessions[0].written.count { it.opcode == RawFrame.PING }
            pings shouldBe 20
            fake.sessions[0].inbound.close() // the first peer goes away; the next never answers pings
            val r = conn.state.first { it is ConnectionState.Reconnecting } as ConnectionState.Reconnecting
            r.cause.shouldBeInstanceOf<TetherException.ConnectionLost>()
            val second = conn.state.first { it is ConnectionState.Connected }
            second.shouldBeInstanceOf<ConnectionState.Connected>()
            val connectedAt = testScheduler.currentTime
            val dead = conn.state.first { it is ConnectionState.Reconnecting } as ConnectionState.Reconnecting
            (testScheduler.currentTime - connectedAt) shouldBe 40_000L
            dead.cause.shouldBeInstanceOf<TetherException.DeadLink>()
            dead.disconnect!!.code shouldBe 1006
        }
    }

    test("keepalive: time the reader waits for a slow consumer does not count against the pong timeout") {
        runTest {
            val fake = FakeTransport(testScheduler) { FakeTransport.Behavior.Accept() }
            val pongs = java.util.concurrent.atomic.AtomicInteger()
            val conn = start(fake) {
                pingInterval = 1.seconds
                pongTimeout = 1.seconds
                incomingBuffer(2, dev.tether.OverflowPolicy.SUSPEND)
                onPong { _, rtt -> if (rtt != null) pongs.incrementAndGet() }
            }
            conn.state.first { it is ConnectionState.Connected }
            val session = fake.sessions[0]
            // more messages than the incoming buffer and the read-ahead hold: the reader ends up waiting, and the
            // pongs queue behind the messages, unread
            repeat(300) { session.inbound.trySend(RawFrame(RawFrame.TEXT, true, 0, "m$it".toByteArray())) }
            advanceTimeBy(60_000L)
            runCurrent()
            conn.state.value.shouldBeInstanceOf<ConnectionState.Connected>() // a minute with no pong read: not dead
            fake.openTimes.size shouldBe 1
            pongs.get() shouldBe 0
            repeat(300) { (conn.incoming.receive() as dev.tether.Frame.Text).text shouldBe "m$it" }
            advanceTimeBy(5_000L)
            runCurrent()
            (pongs.get() > 0) shouldBe true // the keepalive went on once the reader could read
            conn.state.value.shouldBeInstanceOf<ConnectionState.Connected>()
            fake.openTimes.size shouldBe 1
        }
    }

    test("a Retry-After one connection gets (503) holds back the next attempt of every connection of the client") {
        runTest {
            val fake = FakeTransport(testScheduler) { n ->
                when (n) {
                    0 -> FakeTransport.Behavior.RefuseWithRetryAfter(503, 10) // connection A's first attempt
                    1 -> FakeTransport.Behavior.Refuse // connection B's first attempt: its own backoff is 250 ms
                    else -> FakeTransport.Behavior.Accept()
                }
            }
            val config = webSocketClient("ws://127.0.0.1:1/x") {
                logInfo = false
                logErrors = false
                pingInterval = Duration.ZERO
                reconnect { jitter(0.0) }
            }.config
            val client = WebSocketClient(config, { fake }, testScheduler.timeSource)
            val a = client.connectIn(backgroundScope)
            a.state.first { it is ConnectionState.Reconnecting }
            val b = client.connectIn(backgroundScope)
            val waiting = b.state.first { it is ConnectionState.Reconnecting } as ConnectionState.Reconnecting
            waiting.delay shouldBe 10.seconds // not its own 250 ms: the server asked the whole client to wait
            a.state.first { it is ConnectionState.Connected }
            b.state.first { it is ConnectionState.Connected }
            fake.openTimes.drop(2).forEach { (it >= 10_000L) shouldBe true }
        }
    }

    test("maxMissedPongs: a link is dead only after that many unanswered pings in a row, plus one") {
        runTest {
            val fake = FakeTransport(testScheduler) { n -> FakeTransport.Behavior.Accept(answerPings = n != 0) }
            val conn = start(fake) {
                pingInterval = 2.seconds
                pongTimeout = 1.seconds
                maxMissedPongs = 19
            }
            conn.state.first { it is ConnectionState.Connected }
            val dead = conn.state.first { it is ConnectionState.Reconnecting } as ConnectionState.Reconnecting
            dead.cause.shouldBeInstanceOf<TetherException.DeadLink>()
            testScheduler.currentTime shouldBe 20 * 3_000L // 20 pings, each 2 s apart plus 1 s of waiting
            fake.sessions[0].written.count { it.opcode == RawFrame.PING } shouldBe 20
        }
    }

    test("livenessFromAnyFrame: no ping while data flows, and data answers a ping; silence still kills the link") {
        runTest {
            val fake = FakeTransport(testScheduler) { FakeTransport.Behavior.Accept(answerPings = false) }
            val conn = start(fake) {
                pingInterval = 30.seconds
                pongTimeout = 10.seconds
                livenessFromAnyFrame = true
            }
            conn.state.first { it is ConnectionState.Connected }
            val session = fake.sessions[0]
            val feeder = launch {
                repeat(60) { // a message every 5 s for five minutes, from a server that never answers pings
                    session.inbound.trySend(RawFrame(RawFrame.TEXT, true, 0, "tick".toByteArray()))
                    kotlinx.coroutines.delay(5_000)
                }
            }
            val drain = launch { for (f in conn.incoming) f.hashCode() } // reads and discards
            advanceTimeBy(5 * 60_000L)
            runCurrent()
            conn.state.value.shouldBeInstanceOf<ConnectionState.Connected>()
            session.written.count { it.opcode == RawFrame.PING } shouldBe 0 // data was proof of life: no ping needed
            feeder.join()
            val silentFrom = testScheduler.currentTime
            val dead = conn.state.first { it is ConnectionState.Reconnecting } as ConnectionState.Reconnecting
            dead.cause.shouldBeInstanceOf<TetherException.DeadLink>()
            (testScheduler.currentTime - silentFrom <= 30_000L + 30_000L + 10_000L) shouldBe true
            drain.cancel()
        }
    }

    test("outbox time to live: a frame waiting offline fails EXPIRED at its deadline and is never sent late") {
        runTest {
            val fake = FakeTransport(testScheduler) { n -> if (n == 0) FakeTransport.Behavior.Refuse else FakeTransport.Behavior.Accept() }
            val reported = kotlinx.coroutines.CompletableDeferred<TetherException>()
            val conn = start(fake) {
                pingInterval = Duration.ZERO
                outboxTimeToLive = 5.seconds
                reconnect { delays { 8.seconds } } // offline for 8 s
                onError { e -> if (e is TetherException.SendFailed) reported.complete(e); dev.tether.Decision.Ignore }
            }
            conn.state.first { it is ConnectionState.Reconnecting }
            val stale = async { runCatching { conn.send(dev.tether.Frame.Text("stale")) } }
            val short = async { runCatching { conn.send(dev.tether.Frame.Text("short"), 1.seconds) } }
            conn.outgoing.send(dev.tether.Frame.Text("plain"))
            runCurrent()
            advanceTimeBy(4_000)
            val fresh = async { runCatching { conn.send(dev.tether.Frame.Text("fresh")) } } // 4 s left at the reconnect
            runCurrent()
            (short.await().exceptionOrNull() as TetherException.SendFailed).reason shouldBe TetherException.SendFailure.EXPIRED
            (stale.await().exceptionOrNull() as TetherException.SendFailed).reason shouldBe TetherException.SendFailure.EXPIRED
            testScheduler.currentTime shouldBe 5_000L // at its deadline, not at the reconnect
            reported.await().shouldBeInstanceOf<TetherException.SendFailed>().reason shouldBe TetherException.SendFailure.EXPIRED
            fresh.await().isSuccess shouldBe true
            fake.sessions[0].written.filter { it.opcode == RawFrame.TEXT }.map { String(it.data) } shouldContainExactly listOf("fresh")
        }
    }

    test("gate: closed holds the connection paused, open connects at once (cutting a backoff short), closing pauses it again") {
        runTest {
            val fake = FakeTransport(testScheduler) { n -> if (n == 0) FakeTransport.Behavior.Refuse else FakeTransport.Behavior.Accept() }
            val gate = kotlinx.coroutines.flow.MutableStateFlow(false)
            val conn = start(fake) {
                pingInterval = Duration.ZERO
                reconnect { delays { 60.seconds } }
                gate(gate)
            }
            conn.state.first { it is ConnectionState.Paused }.toString() shouldBe "Paused(GATE)"
            advanceTimeBy(10_000)
            fake.openTimes.size shouldBe 0 // nothing while the gate is closed
            gate.value = true
            conn.state.first { it is ConnectionState.Reconnecting } // the first attempt failed: 60 s of backoff
            gate.value = false
            conn.state.first { it is ConnectionState.Paused }
            val reopenedAt = testScheduler.currentTime
            gate.value = true
            val up = conn.state.first { it is ConnectionState.Connected } as ConnectionState.Connected
            testScheduler.currentTime shouldBe reopenedAt // at once, not after the 60 s backoff
            up.attempt shouldBe 0 // the gate opening resets the attempt count
            gate.value = false
            conn.state.first { it is ConnectionState.Paused }
            fake.sessions[0].written.last().let { it.opcode shouldBe RawFrame.CLOSE; String(it.data, 2, it.data.size - 2) shouldBe "gate" }
            val queued = async { conn.send(dev.tether.Frame.Text("while paused")) }
            runCurrent()
            gate.value = true
            queued.await()
            fake.sessions[1].written.first { it.opcode == RawFrame.TEXT }.data.decodeToString() shouldBe "while paused"
        }
    }

    test("pause() and resume() by hand") {
        runTest {
            val fake = FakeTransport(testScheduler) { FakeTransport.Behavior.Accept() }
            val conn = start(fake) { pingInterval = Duration.ZERO }
            conn.state.first { it is ConnectionState.Connected }
            conn.pause()
            conn.state.first { it is ConnectionState.Paused }.toString() shouldBe "Paused(PAUSED)"
            advanceTimeBy(60_000)
            fake.openTimes.size shouldBe 1
            conn.resume()
            conn.state.first { it is ConnectionState.Connected }
            fake.openTimes.size shouldBe 2
        }
    }

    test("idleTimeout: no traffic closes the connection, the next send opens it again") {
        runTest {
            val fake = FakeTransport(testScheduler) { FakeTransport.Behavior.Accept() }
            val conn = start(fake) {
                pingInterval = Duration.ZERO
                idleTimeout = 10.seconds
            }
            conn.state.first { it is ConnectionState.Connected }
            advanceTimeBy(5_000)
            conn.send(dev.tether.Frame.Text("a")) // traffic: the 10 s start again
            advanceTimeBy(9_000)
            runCurrent()
            conn.state.value.shouldBeInstanceOf<ConnectionState.Connected>()
            conn.state.first { it is ConnectionState.Paused }.toString() shouldBe "Paused(IDLE)"
            testScheduler.currentTime shouldBe 15_000L
            fake.sessions[0].written.last().opcode shouldBe RawFrame.CLOSE
            conn.send(dev.tether.Frame.Text("b")) // wakes it: queued, then written on the new connection
            fake.openTimes.size shouldBe 2
            fake.sessions[1].written.first { it.opcode == RawFrame.TEXT }.data.decodeToString() shouldBe "b"
        }
    }

    test("circuit breaker: more than N failed attempts within T goes Down with CircuitOpen; reconnect() tries again") {
        runTest {
            val fake = FakeTransport(testScheduler) { FakeTransport.Behavior.Refuse }
            val conn = start(fake) {
                pingInterval = Duration.ZERO
                reconnect {
                    delays { 1.seconds }
                    circuitBreaker(5, 10.seconds)
                }
            }
            val down = conn.state.first { it is ConnectionState.Down } as ConnectionState.Down
            val open = down.cause.shouldBeInstanceOf<TetherException.CircuitOpen>()
            open.failures shouldBe 6
            open.lastCause.shouldBeInstanceOf<TetherException.ConnectFailed>()
            testScheduler.currentTime shouldBe 5_000L
            fake.openTimes.size shouldBe 6
            advanceTimeBy(60_000)
            fake.openTimes.size shouldBe 6 // no retrying for ever
            conn.reconnect()
            conn.state.first { it is ConnectionState.Reconnecting }
            fake.openTimes.size shouldBe 7
        }
    }

    test("an onConnect that never returns holds the other frames at most connectTimeout") {
        runTest {
            val fake = FakeTransport(testScheduler) { FakeTransport.Behavior.Accept() }
            val conn = start(fake) {
                pingInterval = Duration.ZERO
                connectTimeout = 10.seconds
                onConnect { sendText("first"); kotlinx.coroutines.awaitCancellation() }
            }
            conn.state.first { it is ConnectionState.Connected }
            conn.send(dev.tether.Frame.Text("later"))
            testScheduler.currentTime shouldBe 10_000L
            fake.sessions[0].written.filter { it.opcode == RawFrame.TEXT }.map { it.data.decodeToString() } shouldContainExactly
                listOf("first", "later")
        }
    }

    test("a socket found closed when a keepalive ping is written is a lost connection, reconnected, not a crash") {
        runTest {
            val fake = FakeTransport(testScheduler) { n -> FakeTransport.Behavior.Accept(pingFails = n == 0) }
            val conn = start(fake) {
                pingInterval = 30.seconds
                reconnect { jitter(0.0) }
            }
            val r = conn.state.first { it is ConnectionState.Reconnecting } as ConnectionState.Reconnecting
            r.cause.shouldBeInstanceOf<TetherException.ConnectionLost>().message!! shouldContain "before the ping"
            conn.state.first { it is ConnectionState.Connected && it.attempt == 1 }
        }
    }

    test("a custom delay schedule replaces the backoff") {
        runTest {
            val fake = FakeTransport(testScheduler) { FakeTransport.Behavior.Refuse }
            start(fake) {
                pingInterval = Duration.ZERO
                reconnect { delays { n -> listOf(10L, 50, 100).getOrElse(n - 1) { 5_000 }.milliseconds } }
            }
            advanceTimeBy(20_000)
            deltas(fake.openTimes).take(6) shouldContainExactly listOf(10L, 50, 100, 5_000, 5_000, 5_000)
        }
    }

    test("reconnect() while connected closes the connection and connects again") {
        runTest {
            val fake = FakeTransport(testScheduler) { FakeTransport.Behavior.Accept() }
            val conn = start(fake) {
                pingInterval = Duration.ZERO
                reconnect { delays { 1_000.milliseconds } }
            }
            conn.state.first { it is ConnectionState.Connected }
            conn.reconnect()
            val r = conn.state.first { it is ConnectionState.Reconnecting } as ConnectionState.Reconnecting
            r.attempt shouldBe 1
            r.delay shouldBe 1_000.milliseconds
            conn.state.first { it is ConnectionState.Connected }
            fake.openTimes.size shouldBe 2
            fake.sessions[0].written.last().opcode shouldBe RawFrame.CLOSE
        }
    }

    test("a hook's sendText queues and returns: it never waits for the write") {
        runTest {
            val fake = FakeTransport(testScheduler) { FakeTransport.Behavior.Accept(flush = FakeTransport.Behavior.Flush.HANG) }
            val returned = kotlinx.coroutines.CompletableDeferred<Unit>()
            val conn = start(fake) {
                pingInterval = Duration.ZERO
                onConnect {
                    sendText("a")
                    sendBinary(byteArrayOf(1))
                    returned.complete(Unit)
                }
            }
            conn.state.first { it is ConnectionState.Connected }
            kotlinx.coroutines.withTimeout(1_000) { returned.await() }
            fake.sessions[0].written.map { it.opcode } shouldContainExactly listOf(RawFrame.TEXT, RawFrame.BINARY)
        }
    }

    test("a frame from the outgoing channel lost with the connection is reported to onError") {
        runTest {
            val fake = FakeTransport(testScheduler) { n ->
                if (n == 0) FakeTransport.Behavior.Accept(flush = FakeTransport.Behavior.Flush.FAIL) else FakeTransport.Behavior.Accept()
            }
            val reported = kotlinx.coroutines.CompletableDeferred<TetherException>()
            val conn = start(fake) {
                pingInterval = Duration.ZERO
                onError { e -> reported.complete(e); dev.tether.Decision.Ignore }
            }
            conn.state.first { it is ConnectionState.Connected }
            conn.outgoing.send(dev.tether.Frame.Text("lost"))
            val e = reported.await().shouldBeInstanceOf<TetherException.SendFailed>()
            e.frame shouldBe dev.tether.Frame.Text("lost")
            e.reason shouldBe TetherException.SendFailure.CONNECTION_LOST
        }
    }

    test("close during backoff ends at once with the requested code") {
        runTest {
            val fake = FakeTransport(testScheduler) { FakeTransport.Behavior.Refuse }
            val conn = start(fake) {
                pingInterval = Duration.ZERO
                reconnect { backoff(10_000, 10_000, 1.0) }
            }
            conn.state.first { it is ConnectionState.Reconnecting }
            val closed = conn.close(4001, "bye")
            closed.code shouldBe 4001
            testScheduler.currentTime shouldBe 0L
            fake.closed shouldBe true
        }
    }
})

private fun kotlinx.coroutines.CoroutineScope.launchCollect(conn: Connection, onEach: (ConnectionState) -> Unit) =
    this.launch { conn.state.collect { onEach(it) } }
