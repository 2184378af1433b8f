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
})
