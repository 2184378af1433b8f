package dev.tether.phoenix

import dev.tether.TetherException
import dev.tether.testkit.FakePhoenixServer
import dev.tether.testkit.FakePhoenixServer.Answer
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainInOrder
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
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.builtins.MapSerializer
import kotlinx.serialization.builtins.serializer
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

private fun quick(endpoint: String, block: PhoenixSocketBuilder.() -> Unit = {}) = quickSocket(endpoint, 10.seconds, block)

/** A typed payload (the module has no serialization compiler plugin: a built-in serializer stands in for @Serializable). */
private val NOTE = MapSerializer(String.serializer(), String.serializer())

private fun note(body: String, n: Int) = mapOf("body" to body, "n" to "$n")

/**
 * Holds the socket's serial dispatcher (and so its router) in an `onReply` callback until the returned latch is
 * counted down; returns once the callback runs.
 */
private suspend fun holdSerialDispatcher(ch: PhoenixChannel): CountDownLatch {
    val inCallback = CompletableDeferred<Unit>()
    val release = CountDownLatch(1)
    ch.push("echo", obj("n" to "hold")).onReply { inCallback.complete(Unit); release.await(10, TimeUnit.SECONDS) }
    inCallback.await()
    return release
}

/** The Phoenix socket's contracts under load and misuse (issue 10), against the fake Phoenix server. */
class PhoenixSemanticsTest : FunSpec({

    test("a burst of 10 000 pushes from 16 coroutines gets 10 000 replies: nothing is lost") {
        FakePhoenixServer().start().use { server ->
            quick(server.endpoint).use { socket ->
                val ch = socket.channel("room:burst")
                ch.join().shouldBeInstanceOf<Reply.Ok>()
                val replies = coroutineScope {
                    (0 until 16).map { c ->
                        async(Dispatchers.Default) { (0 until 625).map { i -> ch.push("echo", obj("n" to "$c-$i")) }.map { it.await() } }
                    }.awaitAll().flatten()
                }
                replies.count { it is Reply.Ok } shouldBe 10_000
            }
        }
    }

    test("a push that cannot be held fails at once with the reason; after close, pushes fail CLOSED") {
        FakePhoenixServer().start().use { server ->
            val release = CountDownLatch(1)
            server.joinHandler = FakePhoenixServer.JoinHandler { _, _ -> release.await(10, TimeUnit.SECONDS); Answer.ok() }
            val socket = quick(server.endpoint) { maxQueuedPushes = 3 }
            try {
                val ch = socket.channel("room:slow")
                coroutineScope {
                    val joining = async { ch.join() }
                    eventually { ch.state.value == ChannelState.JOINING }
                    val held = (1..3).map { ch.push("echo", obj("i" to "$it")) }
                    val refused = ch.push("echo", obj("i" to "4"))
                    val r = withTimeout(2.seconds) { refused.await() }.shouldBeInstanceOf<Reply.Failed>()
                    r.cause.shouldBeInstanceOf<TetherException.SendFailed>().reason shouldBe TetherException.SendFailure.BUFFER_FULL
                    release.countDown()
                    joining.await().shouldBeInstanceOf<Reply.Ok>()
                    held.map { it.await() }.forEach { it.shouldBeInstanceOf<Reply.Ok>() }
                }
                socket.close(1000)
                val late = ch.push("echo", obj())
                withTimeout(2.seconds) { late.await() }.shouldBeInstanceOf<Reply.Failed>()
            } finally {
                release.countDown()
                socket.close()
            }
        }
    }

    test("throwing callbacks are reported and the socket and every channel go on") {
        FakePhoenixServer().start().use { server ->
            val errors = java.util.concurrent.CopyOnWriteArrayList<TetherException>()
            quick(server.endpoint) { onError { errors += it } }.use { socket ->
                val ch = socket.channel("room:cb")
                ch.join()
                ch.presence.onJoin { _, _, _ -> error("presence bug") }
                ch.presence.onSync { error("sync bug") }
                val thrown = CompletableDeferred<Unit>()
                ch.push("echo", obj("a" to "1")).onReply { thrown.complete(Unit); error("reply bug") }
                withTimeout(5.seconds) { thrown.await() }
                server.presenceState("room:cb", """{"alice":{"metas":[{"phx_ref":"1"}]}}""")
                eventually { errors.size >= 3 }
                errors.map { (it as TetherException.HandlerFailed).hook }.toSet() shouldBe
                    setOf("Push.onReply", "presence.onJoin", "presence.onSync")
                ch.push("echo", obj("b" to "2")).await() shouldBe Reply.Ok(Payload.Json(obj("b" to "2")))
                val other = socket.channel("room:other")
                other.join().shouldBeInstanceOf<Reply.Ok>()
                socket.isConnected shouldBe true
                ch.state.value shouldBe ChannelState.JOINED
            }
        }
    }

    test("a stuck collector of one channel stalls neither other channels, replies nor the heartbeat") {
        FakePhoenixServer().start().use { server ->
            val errors = java.util.concurrent.CopyOnWriteArrayList<TetherException>()
            quick(server.endpoint) {
                // beats every second (three of them are awaited), and a late reply (a busy machine) is not a dead link
                heartbeatInterval = 1.seconds
                heartbeatTimeout = 5.seconds
                messageBuffer(16)
                onError { errors += it }
            }.use { socket ->
                val slow = socket.channel("room:slow")
                slow.join()
                val stuck = CountDownLatch(1)
                val gotFirst = CompletableDeferred<Unit>()
                val collector = launch(Dispatchers.Default) {
                    slow.messages.collect { gotFirst.complete(Unit); stuck.await(30, TimeUnit.SECONDS) }
                }
                try {
                    withTimeout(5.seconds) { // messages is hot: repeat until the collector has subscribed and got one
                        while (!gotFirst.isCompleted) {
                            server.broadcast("room:slow", "tick", """{"n":0}""")
                            delay(20)
                        }
                    }
                    repeat(600) { server.broadcast("room:slow", "tick", """{"n":${it + 1}}""") }
                    val fast = socket.channel("room:fast")
                    fast.join().shouldBeInstanceOf<Reply.Ok>()
                    repeat(20) { fast.push("echo", obj("i" to "$it")).await().shouldBeInstanceOf<Reply.Ok>() }
                    val beats = server.heartbeats
                    eventually { server.heartbeats >= beats + 3 } // the heartbeat goes on, answered
                    server.server.handshakeRequests.size shouldBe 1 // no reconnect
                    eventually { errors.any { it is TetherException.MessageDropped } } // the overflow is reported
                    // in the channel's words, not the connection's (issue 21, item 18)
                    errors.first { it is TetherException.MessageDropped }.message!! shouldContain "channel room:slow's message buffer full"
                } finally {
                    stuck.countDown()
                    collector.cancel()
                }
            }
        }
    }

    test("a reply completes its push while a slow callback holds the socket's dispatcher") {
        FakePhoenixServer().start().use { server ->
            quick(server.endpoint).use { socket ->
                val ch = socket.channel("room:fast")
                ch.join().shouldBeInstanceOf<Reply.Ok>()
                val release = holdSerialDispatcher(ch)
                try {
                    // the router shares the blocked dispatcher; the reply fast path on the socket reader does not
                    withTimeout(5.seconds) { ch.push("echo", obj("n" to "b")).await() }.shouldBeInstanceOf<Reply.Ok>()
                } finally {
                    release.countDown()
                }
            }
        }
    }

    test("a reply never overtakes what the server sent before it") {
        FakePhoenixServer().start().use { server ->
            server.pushHandler = FakePhoenixServer.PushHandler { topic, event, payload ->
                when (event) {
                    "enter" -> server.presenceState(topic, """{"alice":{"metas":[{"phx_ref":"1"}]}}""")
                    "mark" -> server.pingSockets("mark") // after the presence state and the reply to "enter"
                }
                if (event == "mark") Answer.none() else Answer.ok(payload)
            }
            quick(server.endpoint).use { socket ->
                val ch = socket.channel("room:order")
                ch.join().shouldBeInstanceOf<Reply.Ok>()
                val release = holdSerialDispatcher(ch) // the router is held up behind a callback
                val enter = try {
                    ch.push("enter", obj()).also { enter ->
                        ch.push("mark", obj())
                        // the pong comes after the client's reader has read the diff and the reply
                        server.awaitPong(java.time.Duration.ofSeconds(5)) shouldBe "mark"
                        enter.isDone shouldBe false // the reply waits behind the presence state the router has not handled yet
                    }
                } finally {
                    release.countDown()
                }
                withTimeout(5.seconds) { enter.await() }.shouldBeInstanceOf<Reply.Ok>()
                ch.presence.list().map { it.first } shouldBe listOf("alice") // applied before the reply completed
            }
        }
    }

    test("events: every transition, in order, never conflated") {
        FakePhoenixServer().start().use { server ->
            quick(server.endpoint).use { socket ->
                val seen = java.util.concurrent.CopyOnWriteArrayList<PhoenixEvent>()
                val collector = launch(Dispatchers.Default) { socket.events.collect { seen += it } }
                try {
                    eventually { socket.isConnected }
                    val ch = socket.channel("room:ev")
                    ch.join().shouldBeInstanceOf<Reply.Ok>()
                    repeat(2) {
                        val closes = seen.count { it is PhoenixEvent.Closed }
                        server.kickSockets(4000, "kick $it")
                        eventually { seen.count { it is PhoenixEvent.Closed } == closes + 1 && ch.state.value == ChannelState.JOINED }
                    }
                    server.closeChannel("room:ev")
                    eventually { seen.any { it is PhoenixEvent.Left } }
                    val names = seen.map { it::class.simpleName }
                    names.shouldContainInOrder(
                        "Joining", "Joined",
                        "Closed", "Errored", "ReconnectScheduled", "Opened", "Joining", "Joined",
                        "Closed", "Errored", "ReconnectScheduled", "Opened", "Joining", "Joined",
                        "Left",
                    )
                    seen.filterIsInstance<PhoenixEvent.Closed>().map { it.reason } shouldBe listOf("kick 0", "kick 1")
                    seen.filterIsInstance<PhoenixEvent.Joined>().map { it.rejoin } shouldBe listOf(false, true, true)
                } finally {
                    collector.cancel()
                }
            }
        }
    }

    test("settings the socket owns are rejected at build time, naming what to use; tether { } blocks compose") {
        val endpoint = "ws://127.0.0.1:9/socket"
        shouldThrow<IllegalArgumentException> { phoenixSocket(endpoint) { tether { onText { } } } }.message shouldContain "onText"
        shouldThrow<IllegalArgumentException> { phoenixSocket(endpoint) { tether { onDisconnect { dev.tether.Decision.Close() } } } }
            .message shouldContain "onDisconnect"
        shouldThrow<IllegalArgumentException> { phoenixSocket(endpoint) { tether { onError { dev.tether.Decision.Close() } } } }
            .message shouldContain "onError"
        shouldThrow<IllegalArgumentException> { phoenixSocket(endpoint) { tether { onConnect { } } } }.message shouldContain "onConnect"
        shouldThrow<IllegalArgumentException> { phoenixSocket(endpoint) { tether { reconnect { maxAttempts = 3 } } } }
            .message shouldContain "reconnectAfter"
        shouldThrow<IllegalArgumentException> { phoenixSocket(endpoint) { tether { connectWith { it.defaults } } } }
            .message shouldContain "params"
        shouldThrow<IllegalArgumentException> { phoenixSocket(endpoint) { tether { offlinePolicy = dev.tether.OfflinePolicy.QUEUE } } }
        FakePhoenixServer().start().use { server ->
            quick(server.endpoint) {
                tether { header("X-First", "1") }
                tether { header("X-Second", "2") }
            }.use { socket ->
                eventually { socket.isConnected }
                val hs = server.server.handshakeRequests.first()
                hs.header("x-first") shouldBe "1"
                hs.header("x-second") shouldBe "2"
            }
        }
    }

    test("closing from a callback returns and the socket ends") {
        FakePhoenixServer().start().use { server ->
            val socket = quick(server.endpoint)
            val ch = socket.channel("room:close")
            ch.join()
            val returned = CompletableDeferred<Unit>()
            ch.push("echo", obj()).onReply { socket.close(); returned.complete(Unit) }
            withTimeout(5.seconds) { returned.await() }
            withTimeout(5.seconds) { socket.state.first { it is dev.tether.ConnectionState.Closed } }
        }
    }

    test("typed pushes, replies and messages with kotlinx.serialization") {
        FakePhoenixServer().start().use { server ->
            quick(server.endpoint).use { socket ->
                val ch = socket.channel("room:typed")
                ch.join()
                ch.push("echo", note("hi", 1), NOTE).awaitOk(NOTE) shouldBe note("hi", 1)
                coroutineScope {
                    val next = async { ch.messages("note", NOTE).first() }
                    eventually { server.joins.isNotEmpty() }
                    delay(50) // let the collector subscribe (messages is a hot flow)
                    server.broadcast("room:typed", "other", "{}")
                    server.broadcast("room:typed", "note", """{"body":"yo","n":"2"}""")
                    withTimeout(5.seconds) { next.await() } shouldBe note("yo", 2)
                }
                server.pushHandler = FakePhoenixServer.PushHandler { _, _, _ -> Answer.error("""{"reason":"no"}""") }
                shouldThrow<PhoenixReplyException> { ch.push("echo", note("x", 3), NOTE).awaitOk(NOTE) }
                    .reply.shouldBeInstanceOf<Reply.Error>()
            }
        }
    }
})
