package dev.tether

import dev.tether.testkit.ConnectionScript
import dev.tether.testkit.HandshakeResponse
import dev.tether.testkit.TestWebSocketServer
import dev.tether.testkit.WireFrame
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/** A script that runs [first] on the first connection and echoes on the others. */
private fun firstThen(first: ConnectionScript): ConnectionScript {
    val n = AtomicInteger()
    return ConnectionScript { c -> if (n.incrementAndGet() == 1) first.run(c) else c.echo() }
}

class LifecycleTest : FunSpec({

    context("server closes with a code: the documented reaction") {
        withData(1000, 1001, 1011, 4000) { code ->
            TestWebSocketServer.withScript(firstThen { it.close(code, "bye $code") }).use { server ->
                quickClient(server.url()).connect().use { conn ->
                    val r = conn.awaitState<ConnectionState.Reconnecting>()
                    val d = r.disconnect!!
                    d.code shouldBe code
                    d.reason shouldBe "bye $code"
                    d.byServer shouldBe true
                    r.cause shouldBe null
                    val again = conn.awaitState<ConnectionState.Connected> { it.attempt == 1 }
                    again.attempt shouldBe 1
                    server.connections.size shouldBe 2
                    // the client answered the server's close with the same code (closing handshake)
                    server.connections[0].received.last().closeCode shouldBe code
                }
            }
        }
    }

    test("server closes with 1008: the client stays down until reconnect()") {
        TestWebSocketServer.withScript(firstThen { it.close(1008, "policy") }).use { server ->
            quickClient(server.url()).connect().use { conn ->
                val down = conn.awaitState<ConnectionState.Down>()
                down.disconnect!!.code shouldBe 1008
                server.connections.size shouldBe 1
                conn.reconnect()
                conn.awaitState<ConnectionState.Connected>()
                server.connections.size shouldBe 2
            }
        }
    }

    test("server drops TCP without a close frame: lost (1006), then reconnects") {
        // The server drops only once the client's first frame proves the connection is up: an RST right after the
        // 101 may discard the 101 itself (SO_LINGER 0), which would be a failed connect, not a drop.
        TestWebSocketServer.withScript(firstThen { it.awaitFrame(FIVE); it.drop() }).use { server ->
            quickClient(server.url()) { onConnect { sendText("hi") } }.connect().use { conn ->
                val r = conn.awaitState<ConnectionState.Reconnecting>()
                r.disconnect!!.code shouldBe CloseCodes.ABNORMAL
                r.cause.shouldBeInstanceOf<TetherException.ConnectionLost>()
                conn.awaitState<ConnectionState.Connected> { it.attempt == 1 }
            }
        }
    }

    test("handshake refused with 401: typed error with status, headers and body; stays down without a provider") {
        val server = TestWebSocketServer(handshakeHandler = {
            HandshakeResponse.refuse(401, mapOf("WWW-Authenticate" to "Bearer"), "token expired")
        }).start()
        server.use {
            quickClient(server.url()).connect().use { conn ->
                val down = conn.awaitState<ConnectionState.Down>()
                val e = down.cause.shouldBeInstanceOf<TetherException.HandshakeFailed>()
                e.status shouldBe 401
                e.headers["www-authenticate"] shouldBe listOf("Bearer")
                e.bodySnippet shouldBe "token expired"
            }
        }
    }

    test("handshake refused with 401 and a connect provider: retried with fresh credentials until accepted") {
        val server = TestWebSocketServer(handshakeHandler = { req ->
            if (req.header("authorization") == "Bearer t3") HandshakeResponse.accept() else HandshakeResponse.refuse(401)
        }).start()
        server.use {
            val calls = AtomicInteger()
            quickClient(server.url()) {
                connectWith { ctx ->
                    val n = calls.incrementAndGet()
                    ctx.attempt shouldBe n - 1
                    ctx.defaults.copy(url = ctx.defaults.url + "?try=$n", headers = mapOf("Authorization" to "Bearer t$n"))
                }
            }.connect().use { conn ->
                conn.awaitConnected().attempt shouldBe 2
                server.handshakeRequests.map { it.queryParameter("try") } shouldContainExactly listOf("1", "2", "3")
                server.handshakeRequests.map { it.header("authorization") } shouldContainExactly
                    listOf("Bearer t1", "Bearer t2", "Bearer t3")
            }
        }
    }

    test("handshake refused with 503 and Retry-After: waits exactly that long") {
        val n = AtomicInteger()
        val server = TestWebSocketServer(handshakeHandler = {
            if (n.incrementAndGet() == 1) HandshakeResponse.refuse(503, mapOf("Retry-After" to "1")) else HandshakeResponse.accept()
        }).start()
        server.use {
            quickClient(server.url()).connect().use { conn ->
                val r = conn.awaitState<ConnectionState.Reconnecting>()
                r.delay shouldBe 1.seconds
                r.cause.shouldBeInstanceOf<TetherException.HandshakeFailed>().retryAfter shouldBe 1.seconds
                conn.awaitConnected()
            }
        }
    }

    test("connection refused: ConnectFailed(REFUSED), retried with backoff") {
        val server = TestWebSocketServer.echo()
        val url = server.url()
        server.close()
        quickClient(url).connect().use { conn ->
            val r = conn.awaitState<ConnectionState.Reconnecting>()
            r.cause.shouldBeInstanceOf<TetherException.ConnectFailed>().kind shouldBe TetherException.ConnectFailure.REFUSED
        }
    }

    test("server stops and comes back on the same port: reconnects, and frames sent meanwhile arrive in order") {
        TestWebSocketServer.echo().use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                val firstServerConn = server.awaitConnection(FIVE)
                server.stop()
                conn.awaitState<ConnectionState.Reconnecting>()
                coroutineScope {
                    val sends = (1..20).map { i -> async { conn.sendText("m$i") } }
                    // wait until all 20 are queued, then bring the server back
                    withContext(Dispatchers.IO) { Thread.sleep(100) }
                    server.start()
                    withTimeout(10.seconds) { sends.awaitAll() }
                }
                val second = server.awaitConnection(FIVE)
                (second !== firstServerConn) shouldBe true
                val got = second.awaitReceived(20, FIVE).map { it.text }
                got.toSet() shouldBe (1..20).map { "m$it" }.toSet()
                // all twenty echo back through incoming in the order the server saw them
                withTimeout(5.seconds) { (1..20).map { (conn.incoming.receive() as Frame.Text).text } } shouldBe got
            }
        }
    }

    test("frames sent in sequence while disconnected are written in that order") {
        TestWebSocketServer.echo().use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                server.awaitConnection(FIVE)
                server.stop()
                conn.awaitState<ConnectionState.Reconnecting>()
                (1..10).forEach { conn.outgoing.send(Frame.Text("q$it")) }
                server.start()
                val second = server.awaitConnection(FIVE)
                second.awaitReceived(10, FIVE).map { it.text } shouldContainExactly (1..10).map { "q$it" }
            }
        }
    }

    test("a peer that stops answering pings is detected as a dead link over a real socket") {
        TestWebSocketServer.echo().use { server ->
            server.onAccept = ConnectionScript { c -> if (c.id == 1) c.answerPings = false }
            quickClient(server.url()) {
                pingInterval = 1.seconds
                pongTimeout = 1.seconds // a late pong on a busy machine is not a dead link
            }.connect().use { conn ->
                val r = conn.awaitState<ConnectionState.Reconnecting>()
                r.cause.shouldBeInstanceOf<TetherException.DeadLink>()
                r.disconnect!!.code shouldBe 1006
                conn.awaitState<ConnectionState.Connected> { it.attempt == 1 }
                server.connections[0].received.count { it.opcode == WireFrame.PING } shouldBe 1
            }
        }
    }

    test("pings from the server are answered with the same payload") {
        TestWebSocketServer.echo().use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                val sc = server.awaitConnection(FIVE)
                sc.sendPing("abc".toByteArray())
                val pong = sc.awaitReceived(FIVE) { it.opcode == WireFrame.PONG }
                pong.text shouldBe "abc"
            }
        }
    }

    test("closing handshake: close() sends the code, waits for the answer, and ends in Closed") {
        TestWebSocketServer.echo().use { server ->
            val conn = quickClient(server.url()).connect()
            conn.awaitConnected()
            val sc = server.awaitConnection(FIVE)
            conn.sendText("last")
            val closed = conn.close(4321, "done")
            closed.code shouldBe 4321
            closed.reason shouldBe "done"
            closed.cause shouldBe null
            sc.awaitClosed(FIVE) shouldBe true
            sc.received.map { it.toString() } shouldContainExactly listOf("Text(\"last\")", "Close(4321, \"done\")")
            // idempotent
            conn.close(1000).code shouldBe 4321
            conn.close()
        }
    }

    test("close() forces the socket shut after the close timeout when the server never answers") {
        TestWebSocketServer.echo().use { server ->
            server.onAccept = ConnectionScript { it.answerClose = false }
            val conn = quickClient(server.url()) { closeTimeout = 1.seconds }.connect()
            conn.awaitConnected()
            val sc = server.awaitConnection(FIVE)
            val closed = withTimeout(5.seconds) { conn.close(1000) }
            closed.code shouldBe 1000
            sc.awaitClosed(FIVE) shouldBe true
        }
    }

    test("cancelling the caller's scope closes the connection") {
        TestWebSocketServer.echo().use { server ->
            val scope = kotlinx.coroutines.CoroutineScope(Dispatchers.Default + kotlinx.coroutines.SupervisorJob())
            val conn = quickClient(server.url()).connectIn(scope)
            conn.awaitConnected()
            val sc = server.awaitConnection(FIVE)
            scope.coroutineContext[kotlinx.coroutines.Job]!!.cancel()
            conn.awaitClosed().reason shouldContain "cancelled"
            sc.awaitClosed(FIVE) shouldBe true
        }
    }
})
