package dev.tether

import dev.tether.testkit.ConnectionScript
import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
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
})
