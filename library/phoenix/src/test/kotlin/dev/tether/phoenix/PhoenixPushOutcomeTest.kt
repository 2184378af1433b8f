package dev.tether.phoenix

import dev.tether.testkit.FakePhoenixServer
import dev.tether.testkit.FakePhoenixServer.Answer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import java.time.Duration as JDuration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * Every push ends with exactly one outcome (issue 21, item 2): a written push whose reply never comes ends when its
 * channel leaves, when the server closes the channel, and when the socket is closed. Each case hung before the fix.
 */
class PhoenixPushOutcomeTest : FunSpec({

    /** A joined channel and a push to it that the server received and will never answer. */
    suspend fun unanswered(server: FakePhoenixServer, socket: PhoenixSocket, topic: String): Pair<PhoenixChannel, Push> {
        server.pushHandler = FakePhoenixServer.PushHandler { _, event, payload ->
            if (event == "silent") Answer.none() else Answer.ok(payload)
        }
        val ch = socket.channel(topic)
        ch.join().shouldBeInstanceOf<Reply.Ok>()
        val push = ch.push("silent", obj("n" to "1"))
        server.awaitPush(JDuration.ofSeconds(10)).event shouldBe "silent"
        return ch to push
    }

    test("the channel leaves before the reply: Timeout at the push's deadline") {
        FakePhoenixServer().start().use { server ->
            quickSocket(server.endpoint, pushTimeout = 1500.milliseconds).use { socket ->
                val (ch, push) = unanswered(server, socket, "room:leave")
                ch.leave().shouldBeInstanceOf<Reply.Ok>()
                withTimeout(10.seconds) { push.await() } shouldBe Reply.Timeout
            }
        }
    }

    test("the server closes the channel (phx_close) before the reply: Timeout at the push's deadline") {
        FakePhoenixServer().start().use { server ->
            quickSocket(server.endpoint, pushTimeout = 1500.milliseconds).use { socket ->
                val (ch, push) = unanswered(server, socket, "room:kicked")
                server.closeChannel("room:kicked")
                withTimeout(10.seconds) { ch.state.first { it == ChannelState.CLOSED } }
                withTimeout(10.seconds) { push.await() } shouldBe Reply.Timeout
            }
        }
    }

    test("the socket is closed before the reply: the push, its onReply callback and a held push end at once") {
        FakePhoenixServer().start().use { server ->
            val socket = quickSocket(server.endpoint, pushTimeout = 60.seconds) // the deadline is far: the close ends it
            val (_, push) = unanswered(server, socket, "room:closed")
            val callback = CompletableDeferred<Reply>()
            push.onReply { callback.complete(it) }
            server.joinHandler = FakePhoenixServer.JoinHandler { topic, _ -> if (topic == "room:never") Answer.none() else Answer.ok() }
            val held = socket.channel("room:never")
            held.join(200.milliseconds) shouldBe Reply.Timeout // never joined: its pushes are held
            val heldPush = held.enqueue("never", obj())
            socket.close(1000)
            withTimeout(10.seconds) { push.await() } shouldBe Reply.Timeout
            withTimeout(10.seconds) { callback.await() } shouldBe Reply.Timeout
            withTimeout(10.seconds) { heldPush.await() }.shouldBeInstanceOf<Reply.Failed>()
        }
    }
})

