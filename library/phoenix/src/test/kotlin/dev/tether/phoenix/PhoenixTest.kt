package dev.tether.phoenix

import dev.tether.ConnectionState
import dev.tether.testkit.FakePhoenixServer
import dev.tether.testkit.FakePhoenixServer.Answer
import dev.tether.testkit.FaultProxy
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.shouldNotBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.builtins.MapSerializer
import kotlinx.serialization.builtins.serializer
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import java.time.Duration as JDuration
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

private val FIVE = JDuration.ofSeconds(5)

private fun quick(endpoint: String, block: PhoenixSocketBuilder.() -> Unit = {}) = quickSocket(endpoint, 2.seconds, block)

class PhoenixTest : FunSpec({

    test("connects to /websocket with vsn=2.0.0 and params evaluated on every connect") {
        FakePhoenixServer().start().use { server ->
            val n = AtomicInteger()
            val socket = quick(server.endpoint) { params { mapOf("token" to "t${n.incrementAndGet()}") } }
            socket.use {
                socket.state.first { it is ConnectionState.Connected }
                server.kickSockets(1000, "bye") // even a 1000 from the server is followed by a reconnect
                eventually { server.server.handshakeRequests.size == 2 && socket.isConnected }
                val hs = server.server.handshakeRequests
                hs[0].path shouldBe "/socket/websocket"
                hs[0].queryParameter("vsn") shouldBe "2.0.0"
                hs.map { it.queryParameter("token") } shouldContainExactly listOf("t1", "t2")
            }
        }
    }

    test("join: ok with the response; params re-evaluated on rejoin; pushes get their replies") {
        FakePhoenixServer().start().use { server ->
            server.joinHandler = FakePhoenixServer.JoinHandler { _, payload -> Answer.ok("""{"welcome":$payload}""") }
            quick(server.endpoint).use { socket ->
                val joins = AtomicInteger()
                val ch = socket.channel("room:1") { obj("n" to "${joins.incrementAndGet()}") }
                val reply = ch.join()
                reply.shouldBeInstanceOf<Reply.Ok>().response shouldBe Payload.Json(JsonObject(mapOf("welcome" to obj("n" to "1"))))
                ch.state.value shouldBe ChannelState.JOINED

                val r = ch.push("echo", obj("x" to "1")).await()
                r shouldBe Reply.Ok(Payload.Json(obj("x" to "1")))

                val viaCallback = CompletableDeferred<Reply>()
                ch.push("echo", obj("y" to "2")).onReply { viaCallback.complete(it) }
                withTimeout(5.seconds) { viaCallback.await() } shouldBe Reply.Ok(Payload.Json(obj("y" to "2")))

                server.crashChannel("room:1")
                eventually { server.joins.size == 2 && ch.state.value == ChannelState.JOINED }
                server.joins[1].payload shouldBe """{"n":"2"}"""
                server.joins[1].joinRef shouldNotBe server.joins[0].joinRef
            }
        }
    }

    test("refused join: Error with the reason, then retries on the rejoin schedule") {
        FakePhoenixServer().start().use { server ->
            val attempts = AtomicInteger()
            server.joinHandler = FakePhoenixServer.JoinHandler { _, _ ->
                if (attempts.incrementAndGet() < 3) Answer.error("""{"reason":"unauthorized"}""") else Answer.ok()
            }
            quick(server.endpoint).use { socket ->
                val ch = socket.channel("private:1")
                ch.join().shouldBeInstanceOf<Reply.Error>().response shouldBe Payload.Json(obj("reason" to "unauthorized"))
                ch.awaitJoined(5.seconds)
                server.joins.size shouldBe 3
            }
        }
    }

    test("a fake server's handler that throws answers error, naming the exception; the session goes on") {
        FakePhoenixServer().start().use { server ->
            server.pushHandler = FakePhoenixServer.PushHandler { _, event, p ->
                if (event == "boom") throw java.io.IOException("fixture missing") else Answer.ok(p)
            }
            quick(server.endpoint).use { socket ->
                val ch = socket.channel("room:3")
                ch.join().shouldBeInstanceOf<Reply.Ok>()
                val failed = ch.push("boom", obj("x" to "1")).await().shouldBeInstanceOf<Reply.Error>()
                failed.response.toString() shouldContain "handler threw: java.io.IOException: fixture missing"
                ch.push("echo", obj("y" to "2")).await() shouldBe Reply.Ok(Payload.Json(obj("y" to "2")))
            }
        }
    }

    test("push timeout, and pushes made while joining wait for the join with their timeout running") {
        FakePhoenixServer().start().use { server ->
            server.joinHandler = FakePhoenixServer.JoinHandler { _, _ -> Thread.sleep(2_000); Answer.ok() } // a slow join
            server.pushHandler = FakePhoenixServer.PushHandler { _, event, p -> if (event == "silent") Answer.none() else Answer.ok(p) }
            quick(server.endpoint).use { socket ->
                val ch = socket.channel("room:2")
                val joining = kotlinx.coroutines.coroutineScope scope@{
                    val j = this@scope.async { ch.join(10.seconds) }
                    eventually { ch.state.value == ChannelState.JOINING }
                    val early = ch.push("echo", obj("early" to "1"), timeout = 10.seconds) // outlives the join
                    val tooShort = ch.push("echo", obj("late" to "1"), timeout = 1.seconds) // runs out while joining
                    early.await() shouldBe Reply.Ok(Payload.Json(obj("early" to "1")))
                    tooShort.await() shouldBe Reply.Timeout
                    j.await()
                }
                joining.shouldBeInstanceOf<Reply.Ok>()
                server.pushes.map { it.payload } shouldContainExactly listOf("""{"early":"1"}""")
                ch.push("silent", obj(), timeout = 1.seconds).await() shouldBe Reply.Timeout
            }
        }
    }

    test("the fake server answers pushes without recording them while recordPushes is off") {
        FakePhoenixServer().start().use { server ->
            server.recordPushes = false
            quick(server.endpoint).use { socket ->
                val ch = socket.channel("room:quiet")
                ch.join()
                ch.push("echo", obj("n" to "1")).await() shouldBe Reply.Ok(Payload.Json(obj("n" to "1")))
                ch.push("upload", byteArrayOf(1)).await() shouldBe Reply.Ok(Payload.Binary(byteArrayOf(1)))
                server.pushes shouldBe emptyList()
                server.recordPushes = true
                ch.push("echo", obj("n" to "2")).await()
                server.pushes.map { it.payload } shouldContainExactly listOf("""{"n":"2"}""")
            }
        }
    }

    test("binary push and reply; binary broadcast") {
        FakePhoenixServer().start().use { server ->
            server.binaryPushHandler = FakePhoenixServer.BinaryPushHandler { _, _, bytes -> bytes.reversedArray() }
            quick(server.endpoint).use { socket ->
                val ch = socket.channel("bin:1")
                ch.join()
                ch.push("upload", byteArrayOf(1, 2, 3)).await() shouldBe Reply.Ok(Payload.Binary(byteArrayOf(3, 2, 1)))
                server.pushes.single().bytes!!.toList() shouldBe listOf<Byte>(1, 2, 3)
                server.broadcastBinary("bin:1", "blob", byteArrayOf(7, 7))
                ch.awaitMessage("blob").payload shouldBe Payload.Binary(byteArrayOf(7, 7))
            }
        }
    }

    test("messages: broadcasts and server pushes, awaited by event and predicate, decoded to types") {
        FakePhoenixServer().start().use { server ->
            quick(server.endpoint).use { socket ->
                val ch = socket.channel("room:3")
                ch.join()
                server.broadcast("room:3", "new_msg", """{"body":"a"}""")
                server.broadcast("room:3", "new_msg", """{"body":"b"}""")
                server.push("room:3", "private", """{"to":"me"}""")
                val b = ch.awaitMessage("new_msg") { it.json.toString().contains("\"b\"") }
                b.payload.decode(MapSerializer(String.serializer(), String.serializer())) shouldBe mapOf("body" to "b")
                ch.awaitMessage("new_msg").json shouldBe obj("body" to "a")
                ch.awaitMessage("private").joinRef shouldBe ch.joinRef
                shouldThrow<PhoenixTimeoutException> { ch.awaitMessage("never", 100.milliseconds) }
                shouldThrow<dev.tether.TetherException.DecodeFailed> { b.payload.decode(kotlinx.serialization.builtins.ListSerializer(Int.serializer())) }
            }
        }
    }

    test("messages carrying an outdated join_ref are dropped") {
        FakePhoenixServer().start().use { server ->
            quick(server.endpoint).use { socket ->
                val ch = socket.channel("room:4")
                ch.join()
                val oldRef = ch.joinRef!!
                server.crashChannel("room:4")
                eventually { ch.state.value == ChannelState.JOINED && ch.joinRef != oldRef }
                // a late message from the old join, then a current one
                server.server.connections.last().sendText("""["$oldRef",null,"room:4","stale",{}]""")
                server.push("room:4", "fresh", "{}")
                ch.awaitMessage("fresh")
                shouldThrow<PhoenixTimeoutException> { ch.awaitMessage("stale", 200.milliseconds) }
            }
        }
    }

    test("rejoins after every socket reconnect, with exactly one join per connection") {
        FakePhoenixServer().start().use { server ->
            quick(server.endpoint, beating).use { socket ->
                val ch = socket.channel("room:5")
                ch.join()
                repeat(15) { i ->
                    if (i % 2 == 0) server.dropSockets() else server.kickSockets(1011, "crash")
                    eventually { server.server.connections.size == i + 2 && ch.state.value == ChannelState.JOINED }
                }
                eventually { server.joins.size == 16 }
                awaitClientBeats(server) // past any rejoin timer of the client
                server.joins.groupBy { it.socketId }.values.map { it.size }.toSet() shouldBe setOf(1)
                server.joins.size shouldBe 16
            }
        }
    }

    test("a missed heartbeat (blackhole) fails the connection; it reconnects and rejoins once healed") {
        FakePhoenixServer().start().use { server ->
            FaultProxy("127.0.0.1", server.server.port).start().use { proxy ->
                val socket = quick("ws://127.0.0.1:${proxy.port}/socket") {
                    heartbeatInterval = 1.seconds
                    heartbeatTimeout = 2.seconds // the blackhole is detected in about 3 s; a busy machine is not
                }
                socket.use {
                    val ch = socket.channel("room:6")
                    ch.join()
                    eventually { server.heartbeats >= 1 }
                    proxy.blackhole()
                    socket.state.first { it is ConnectionState.Reconnecting || it is ConnectionState.Closing }
                    proxy.heal()
                    eventually { server.joins.size == 2 && ch.state.value == ChannelState.JOINED }
                }
            }
        }
    }

    test("presence: state and diffs with join and leave callbacks; a diff before the state waits for it") {
        FakePhoenixServer().start().use { server ->
            quick(server.endpoint).use { socket ->
                val ch = socket.channel("room:7")
                val joined = java.util.Collections.synchronizedList(ArrayList<String>())
                val left = java.util.Collections.synchronizedList(ArrayList<String>())
                ch.presence.onJoin { key, _, _ -> joined += key }
                ch.presence.onLeave { key, _, _ -> left += key }
                ch.join()
                server.presenceDiff("room:7", """{"carol":{"metas":[{"phx_ref":"c1"}]}}""", "{}")
                server.broadcast("room:7", "marker", "{}") // a barrier: the client handles messages in order
                ch.awaitMessage("marker")
                ch.presence.list() shouldBe emptyList()
                server.presenceState("room:7", """{"alice":{"metas":[{"phx_ref":"a1"}]},"bob":{"metas":[{"phx_ref":"b1"}]}}""")
                eventually { ch.presence.presences.value.keys == setOf("alice", "bob", "carol") }
                server.presenceDiff("room:7", """{"alice":{"metas":[{"phx_ref":"a2"}]}}""", """{"bob":{"metas":[{"phx_ref":"b1"}]}}""")
                eventually { ch.presence.presences.value.keys == setOf("alice", "carol") }
                ch.presence.presences.value["alice"]!!.size shouldBe 2
                joined.toSet() shouldBe setOf("alice", "bob", "carol")
                left shouldContainExactly listOf("bob")
            }
        }
    }

    test("join twice throws; a second channel on the topic leaves the first; leave and server close end it") {
        FakePhoenixServer().start().use { server ->
            quick(server.endpoint, beating).use { socket ->
                val first = socket.channel("room:8")
                first.join()
                shouldThrow<IllegalStateException> { first.join() }
                shouldThrow<IllegalStateException> { socket.channel("room:x").push("e") }
                val second = socket.channel("room:8")
                second.join()
                eventually { first.state.value == ChannelState.CLOSED }
                second.state.value shouldBe ChannelState.JOINED
                second.leave().shouldBeInstanceOf<Reply.Ok>()
                second.state.value shouldBe ChannelState.CLOSED

                val third = socket.channel("room:9")
                third.join()
                server.closeChannel("room:9")
                eventually { third.state.value == ChannelState.CLOSED }
                awaitClientBeats(server) // past any rejoin timer of the client
                server.joins.count { it.topic == "room:9" } shouldBe 1
            }
        }
    }

    test("a frame that is not a Phoenix message is reported and the socket carries on") {
        FakePhoenixServer().start().use { server ->
            val errors = java.util.Collections.synchronizedList(ArrayList<Throwable>())
            quick(server.endpoint) { onDecodeError { errors += it } }.use { socket ->
                val ch = socket.channel("room:10")
                ch.join()
                server.server.connections.last().sendText("not json")
                server.broadcast("room:10", "after", "{}")
                ch.awaitMessage("after")
                errors.single().shouldBeInstanceOf<dev.tether.TetherException.DecodeFailed>()
                socket.isConnected shouldBe true
            }
        }
    }

    test("a throw from onDecodeError is reported to onError as HandlerFailed(onDecodeError) (issue 21, item 18)") {
        FakePhoenixServer().start().use { server ->
            val errors = java.util.Collections.synchronizedList(ArrayList<dev.tether.TetherException>())
            quick(server.endpoint) {
                onDecodeError { throw IllegalStateException("boom") }
                onError { errors += it }
            }.use { socket ->
                val ch = socket.channel("room:11")
                ch.join()
                server.server.connections.last().sendText("not json")
                server.broadcast("room:11", "after", "{}")
                ch.awaitMessage("after")
                val failed = errors.filterIsInstance<dev.tether.TetherException.HandlerFailed>().single()
                failed.message!! shouldContain "onDecodeError"
                errors.filterIsInstance<dev.tether.TetherException.DecodeFailed>().size shouldBe 1
            }
        }
    }
})
