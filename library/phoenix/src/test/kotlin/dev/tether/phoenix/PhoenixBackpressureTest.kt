package dev.tether.phoenix

import dev.tether.OverflowPolicy
import dev.tether.TetherException
import dev.tether.testkit.FakePhoenixServer
import dev.tether.testkit.FakePhoenixServer.Answer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeLessThan
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.seconds

/** 16 KiB: 2 000 of these (32 MiB) are far more than loopback's socket buffers hold while the server does not read. */
private val BIG = "x".repeat(16 * 1024)

/**
 * The push policy under backpressure (issue 10): `push` suspends while the outgoing buffer is full of unwritten
 * pushes (the default), `enqueue` never suspends, and the user's FAIL policy fails at once. The server stops reading
 * its socket, so the client's writes back up for real.
 */
class PhoenixBackpressureTest : FunSpec({

    /** Stops and resumes the server's reading of its sockets; it echoes pushes and counts the `echo` ones. */
    class Stalled(val server: FakePhoenixServer) {
        val echoes = AtomicInteger()

        init {
            server.pushHandler = FakePhoenixServer.PushHandler { _, event, payload ->
                if (event == "echo") echoes.incrementAndGet()
                Answer.ok(payload)
            }
        }

        fun stop() = server.server.connections.forEach { it.setReading(false) }

        fun resume() = server.server.connections.forEach { it.setReading(true) }
    }

    test("push suspends while the outgoing buffer is full, holds no more than it, and cancelling a waiting push withdraws it") {
        FakePhoenixServer().start().use { server ->
            val stalled = Stalled(server)
            val pushers = Executors.newSingleThreadExecutor { r -> Thread(r, "test-pusher").apply { isDaemon = true } }
            val one = pushers.asCoroutineDispatcher()
            val socket = quickSocket(server.endpoint, pushTimeout = 60.seconds) { tether { outgoingBuffer(4) } }
            try {
                val ch = socket.channel("room:bp")
                ch.join().shouldBeInstanceOf<Reply.Ok>()
                stalled.stop()
                val made = AtomicInteger()
                val pushes = CopyOnWriteArrayList<Push>()
                coroutineScope {
                    val pusher = launch(one) {
                        repeat(2_000) {
                            pushes += ch.push("echo", obj("big" to BIG))
                            made.incrementAndGet()
                        }
                    }
                    // Runs on the pusher's only thread while the pusher is suspended: a push that never suspended
                    // would have made all 2 000 first. It waits for one of the 4 permits, each held by a push whose
                    // frame is not written yet, so no more than the buffer waits to be written.
                    withContext(one) {
                        made.get() shouldBeLessThan 2_000
                        socket.connection.outboxDepth shouldBeLessThanOrEqual 4
                    }
                    val before = withContext(one) { made.get().also { pusher.cancel() } } // cancelled while waiting
                    pusher.join()
                    made.get() shouldBe before // the push it waited to make was withdrawn
                    pushes.size shouldBe before
                }
                stalled.resume()
                pushes.forEach { withTimeout(30.seconds) { it.await() }.shouldBeInstanceOf<Reply.Ok>() }
                // a last push, answered after everything sent before it: the server saw exactly the pushes made
                ch.push("last").await().shouldBeInstanceOf<Reply.Ok>()
                stalled.echoes.get() shouldBe made.get()
            } finally {
                stalled.resume()
                socket.close()
                pushers.shutdownNow()
            }
        }
    }

    test("enqueue never suspends: pushes wait in line behind the full buffer and are all answered") {
        FakePhoenixServer().start().use { server ->
            val stalled = Stalled(server)
            quickSocket(server.endpoint, pushTimeout = 60.seconds) { tether { outgoingBuffer(4) } }.use { socket ->
                val ch = socket.channel("room:line")
                ch.join().shouldBeInstanceOf<Reply.Ok>()
                stalled.stop()
                val payload = obj("big" to BIG)
                val pushes = (1..1_000).map { ch.enqueue("echo", payload) } // returns at once, from a plain loop
                pushes.count { it.isDone } shouldBe 0 // none failed: they wait in line
                eventually { socket.connection.outboxDepth > 4 } // the line is beyond the buffer
                stalled.resume()
                pushes.forEach { withTimeout(30.seconds) { it.await() }.shouldBeInstanceOf<Reply.Ok>() }
            }
        }
    }

    test("with the FAIL outgoing policy, push does not wait: a push that finds the buffer full fails BUFFER_FULL at once") {
        FakePhoenixServer().start().use { server ->
            val stalled = Stalled(server)
            quickSocket(server.endpoint, pushTimeout = 60.seconds) {
                tether { outgoingBuffer(4, OverflowPolicy.FAIL) }
            }.use { socket ->
                val ch = socket.channel("room:fail")
                ch.join().shouldBeInstanceOf<Reply.Ok>()
                stalled.stop()
                val payload = obj("big" to BIG)
                var failed: Reply.Failed? = null
                var made = 0
                while (failed == null && made < 2_000) {
                    val p = ch.push("echo", payload)
                    made++
                    if (p.isDone) failed = p.await() as? Reply.Failed
                }
                val r = failed.shouldBeInstanceOf<Reply.Failed>()
                r.cause.shouldBeInstanceOf<TetherException.SendFailed>().reason shouldBe TetherException.SendFailure.BUFFER_FULL
                stalled.resume()
            }
        }
    }
})
