package dev.tether

import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.mockk.coVerify
import io.mockk.mockk
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.withTimeout
import java.util.Collections
import kotlin.time.Duration.Companion.seconds

class HooksTest : FunSpec({

    test("onConnect may send frames; onText receives messages instead of incoming, off the reader") {
        TestWebSocketServer.echo().use { server ->
            val texts = Collections.synchronizedList(ArrayList<String>())
            val threads = Collections.synchronizedList(ArrayList<String>())
            val done = CompletableDeferred<Unit>()
            quickClient(server.url()) {
                onConnect { h ->
                    h.status shouldBe 101
                    sendText("one")
                    sendText("two")
                }
                onText { t ->
                    texts += t
                    threads += Thread.currentThread().name
                    if (texts.size == 2) done.complete(Unit)
                }
            }.connect().use { conn ->
                withTimeout(5.seconds) { done.await() }
                texts shouldContainExactly listOf("one", "two")
                threads.all { it.contains("tether-hooks") } shouldBe true
                conn.incoming.tryReceive().isSuccess shouldBe false
            }
        }
    }

    test("a hook that throws becomes HandlerFailed for onError and the connection stays up") {
        TestWebSocketServer.echo().use { server ->
            val errors = Collections.synchronizedList(ArrayList<TetherException>())
            val second = CompletableDeferred<String>()
            quickClient(server.url()) {
                onText { t -> if (t == "boom") error("kaboom") else second.complete(t) }
                onError { e ->
                    errors += e
                    Decision.Ignore
                }
            }.connect().use { conn ->
                conn.awaitConnected()
                conn.sendText("boom")
                conn.sendText("after")
                withTimeout(5.seconds) { second.await() } shouldBe "after"
                val e = errors.single().shouldBeInstanceOf<TetherException.HandlerFailed>()
                e.hook shouldBe "onText"
                e.cause!!.message shouldBe "kaboom"
                conn.state.value.shouldBeInstanceOf<ConnectionState.Connected>()
                server.connections.size shouldBe 1
            }
        }
    }

    test("onError deciding Close after a handler failure closes the client with that code") {
        TestWebSocketServer.echo().use { server ->
            quickClient(server.url()) {
                onText { error("no") }
                onError { Decision.Close(4009, "handler failed") }
            }.connect().use { conn ->
                conn.awaitConnected()
                conn.sendText("x")
                val closed = conn.awaitClosed()
                closed.code shouldBe 4009
                server.connections[0].awaitReceived(FIVE) { it.opcode == 8 }.closeCode shouldBe 4009
            }
        }
    }

    test("onDisconnect decides; ReconnectAfter waits the given delay; onTerminate runs exactly once") {
        TestWebSocketServer.withScript { it.close(4000, "kick") }.use { server ->
            val terminate = mockk<(ConnectionState.Closed) -> Unit>(relaxed = true)
            val decisions = ArrayList<Int>()
            val conn = quickClient(server.url()) {
                onDisconnect { d ->
                    decisions += d.code
                    if (decisions.size < 2) Decision.ReconnectAfter(0.seconds) else Decision.Close()
                }
                onTerminate { terminate(it) }
            }.connect()
            val closed = conn.awaitClosed()
            closed.code shouldBe 4000
            decisions shouldContainExactly listOf(4000, 4000)
            conn.close()
            coVerify(exactly = 1) { terminate(closed) }
        }
    }

    test("a throwing decision hook falls back to the default decision") {
        TestWebSocketServer.withScript { it.close(1008, "policy") }.use { server ->
            quickClient(server.url()) { onDisconnect { error("bad hook") } }.connect().use { conn ->
                conn.awaitState<ConnectionState.Down>().disconnect!!.code shouldBe 1008
            }
        }
    }

    test("reconnect disabled: the first disconnect ends the client") {
        TestWebSocketServer.withScript { it.close(1001, "bye") }.use { server ->
            quickClient(server.url()) { reconnect { enabled = false } }.connect().use { conn ->
                val closed = conn.awaitClosed()
                closed.code shouldBe 1001
                server.connections.size shouldBe 1
            }
        }
    }

    test("defaultDecision in a hook is what Tether decides without it: reconnect off turns Reconnect into Close") {
        TestWebSocketServer.withScript { it.close(1001, "bye") }.use { server ->
            val seen = CompletableDeferred<Decision>()
            quickClient(server.url()) {
                reconnect { enabled = false }
                onDisconnect { d -> defaultDecision(d).also { seen.complete(it) } }
            }.connect().use { conn ->
                withTimeout(30.seconds) { seen.await() } shouldBe Decision.Close()
                withTimeout(30.seconds) { conn.awaitClosed() }.code shouldBe 1001
                server.connections.size shouldBe 1
            }
        }
    }

    test("defaultDecision for a 401 knows whether the client has a connect provider") {
        TestWebSocketServer(handshakeHandler = { dev.tether.testkit.HandshakeResponse.refuse(401) }).start().use { server ->
            for (provider in listOf(false, true)) {
                val seen = CompletableDeferred<Decision>()
                quickClient(server.url()) {
                    if (provider) connectWith { it.defaults }
                    onError { e -> defaultDecision(e).also { seen.complete(it) }; Decision.Close() }
                }.connect().use { conn ->
                    withTimeout(30.seconds) { seen.await() } shouldBe (if (provider) Decision.Reconnect else Decision.StayDown)
                    withTimeout(30.seconds) { conn.awaitClosed() }
                }
            }
        }
    }

    test("onPong reports the round-trip time of keepalive pings") {
        TestWebSocketServer.echo().use { server ->
            val rtt = CompletableDeferred<kotlin.time.Duration?>()
            quickClient(server.url()) {
                pingInterval = 1.seconds // the first ping goes out after a second: no deadline a busy machine could miss
                onPong { _, d -> rtt.complete(d) }
            }.connect().use {
                val d = withTimeout(30.seconds) { rtt.await() }
                (d != null && d.isPositive()) shouldBe true
            }
        }
    }
})

