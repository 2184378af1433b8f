package dev.tether

import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import kotlin.time.Duration.Companion.seconds

/**
 * A send on a live, idle connection is written from the caller; one queued through `outgoing` or while busy goes
 * through the writer. Whichever path a frame takes, one coroutine's frames arrive in the order it sent them.
 */
class SendOrderTest : FunSpec({

    test("one coroutine mixing outgoing.send, trySend and send keeps its order") {
        TestWebSocketServer.withScript { }.use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                val n = 3000
                withTimeout(30.seconds) {
                    for (i in 0 until n) {
                        when (i % 3) {
                            0 -> conn.outgoing.send(Frame.Text("$i"))
                            1 -> conn.outgoing.trySend(Frame.Text("$i")).isSuccess shouldBe true
                            else -> conn.sendText("$i")
                        }
                    }
                }
                val got = server.connections[0].awaitReceived(n, java.time.Duration.ofSeconds(20)).map { it.text.toInt() }
                got shouldBe (0 until n).toList()
            }
        }
    }

    test("eight coroutines sending at once each keep their own order, and nothing is lost") {
        TestWebSocketServer.withScript { }.use { server ->
            quickClient(server.url()) { outgoingBuffer(16) }.connect().use { conn ->
                conn.awaitConnected()
                val perSender = 500
                withTimeout(30.seconds) {
                    withContext(Dispatchers.Default) {
                        repeat(8) { s ->
                            launch {
                                for (i in 0 until perSender) {
                                    if (i % 2 == 0) conn.sendText("$s:$i") else conn.outgoing.send(Frame.Text("$s:$i"))
                                }
                            }
                        }
                    }
                }
                val got = server.connections[0].awaitReceived(8 * perSender, java.time.Duration.ofSeconds(20)).map { it.text }
                val bySender = got.groupBy({ it.substringBefore(':').toInt() }, { it.substringAfter(':').toInt() })
                (0 until 8).forEach { s -> bySender[s] shouldBe (0 until perSender).toList() }
            }
        }
    }

    test("a frame queued with outgoing.onSend in a select is never overtaken by a later send (issue 21, item 9)") {
        TestWebSocketServer.withScript { }.use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                val rounds = 200
                withTimeout(30.seconds) {
                    for (i in 0 until rounds) {
                        kotlinx.coroutines.selects.select<Unit> { conn.outgoing.onSend(Frame.Text("s$i")) { } }
                        conn.sendText("d$i")
                        conn.enqueue(Frame.Text("e$i"))
                    }
                }
                val got = server.connections[0].awaitReceived(3 * rounds, java.time.Duration.ofSeconds(20)).map { it.text }
                got shouldBe (0 until rounds).flatMap { listOf("s$it", "d$it", "e$it") }
            }
        }
    }

    test("closing outgoing closes the client gracefully after what is queued, and never crashes it") {
        TestWebSocketServer.withScript { }.use { server ->
            quickClient(server.url()).connect().use { conn ->
                conn.awaitConnected()
                repeat(3) { conn.outgoing.send(Frame.Text("q$it")) }
                conn.outgoing.close() shouldBe true
                val closed = withTimeout(10.seconds) { conn.awaitClosed() }
                closed.code shouldBe 1000
                closed.cause shouldBe null
                val sc = server.connections[0]
                sc.awaitClosed(FIVE) shouldBe true
                sc.received.map { if (it.opcode == dev.tether.testkit.WireFrame.CLOSE) "close ${it.closeCode}" else it.text } shouldBe
                    listOf("q0", "q1", "q2", "close 1000")
            }
        }
    }
})
