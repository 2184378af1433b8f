package dev.tether

import dev.tether.engine.TetherEngineApi
import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.withTimeout
import java.util.Collections
import kotlin.time.Duration.Companion.seconds

/** The `inboundTap` seam for protocol layers (Phoenix's reply fast path): what it takes, what it lets through. */
@OptIn(TetherEngineApi::class)
class InboundTapTest : FunSpec({

    test("the tap sees every message once, in order; what it takes never reaches incoming; a throw lets it through") {
        val n = 200
        TestWebSocketServer.withScript { conn -> repeat(n) { conn.sendText("$it") } }.use { server ->
            val seen = Collections.synchronizedList(ArrayList<Int>())
            quickClient(server.url()) {
                logErrors = false
                inboundTap { f ->
                    val i = (f as Frame.Text).text.toInt()
                    seen += i
                    if (i == 14) error("a tap that throws") // an even one: it goes through after all
                    i % 2 == 0 // takes the even ones
                }
            }.connect().use { conn ->
                val expected = (0 until n).filter { it % 2 == 1 || it == 14 }
                val got = withTimeout(10.seconds) { expected.map { (conn.incoming.receive() as Frame.Text).text.toInt() } }
                got shouldBe expected
                seen shouldBe (0 until n).toList()
            }
        }
    }

    test("an Error thrown on the loop (a tap's StackOverflowError) ends that connection only (issue 21, item 8)") {
        TestWebSocketServer.echo().use { server ->
            val others = (1..4).map { quickClient(server.url()).connect() }
            try {
                others.forEach { it.awaitConnected() }
                val disconnects = java.util.Collections.synchronizedList(ArrayList<Disconnect>())
                quickClient(server.url()) {
                    logErrors = false
                    inboundTap { f -> if ((f as Frame.Text).text == "boom") throw StackOverflowError() else false }
                    onDisconnect { d -> disconnects += d; Decision.StayDown }
                }.connect().use { bad ->
                    bad.awaitConnected()
                    bad.sendText("boom")
                    val down = bad.awaitState<ConnectionState.Down>()
                    down.disconnect!!.cause.shouldBeInstanceOf<TetherException.HandlerFailed>()
                    disconnects.size shouldBe 1
                }
                withTimeout(10.seconds) { // every other connection, on either loop, still works
                    others.forEach { c ->
                        c.state.value.shouldBeInstanceOf<ConnectionState.Connected>()
                        c.sendText("still")
                        (c.incoming.receive() as Frame.Text).text shouldBe "still"
                    }
                }
            } finally {
                others.forEach { it.close() }
            }
        }
    }
})
