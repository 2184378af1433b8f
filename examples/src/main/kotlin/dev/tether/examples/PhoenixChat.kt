package dev.tether.examples

import dev.tether.phoenix.PhoenixSocket
import dev.tether.phoenix.Reply
import dev.tether.phoenix.phoenixSocket
import dev.tether.testkit.FakePhoenixServer
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.jsonPrimitive
import java.io.PrintStream
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * A chat room on Phoenix Channels: an embedded fake Phoenix server relays `new_msg` pushes as broadcasts; Alice and
 * Bob join `room:lobby`, see each other in presence, chat, survive the server kicking every socket (they reconnect
 * and rejoin by themselves), and leave. Run: `mvn -q -pl examples -am -DskipTests -Pdemo verify -Ddemo.main=dev.tether.examples.PhoenixChatKt`.
 */
public fun main() {
    runPhoenixChat(System.out)
}

/** Runs the chat, printing the transcript to [out]. */
public fun runPhoenixChat(out: PrintStream): Unit = runBlocking {
    val server = FakePhoenixServer().start()
    server.pushHandler = FakePhoenixServer.PushHandler { topic, event, payload ->
        if (event == "new_msg") server.broadcast(topic, "new_msg", payload)
        FakePhoenixServer.Answer.ok()
    }
    out.println("server  fake Phoenix endpoint ${server.endpoint}")

    fun user(name: String): PhoenixSocket = phoenixSocket(server.endpoint) {
        params { mapOf("user" to name) }
        tether { logInfo = false; logErrors = false }
    }.also { it.connect() }

    val alice = user("alice")
    val bob = user("bob")
    try {
        val aliceRoom = alice.channel("room:lobby") { JsonObject(mapOf("name" to JsonPrimitive("alice"))) }
        val bobRoom = bob.channel("room:lobby") { JsonObject(mapOf("name" to JsonPrimitive("bob"))) }
        check(aliceRoom.join() is Reply.Ok && bobRoom.join() is Reply.Ok) { "join refused" }
        out.println("alice   joined room:lobby")
        out.println("bob     joined room:lobby")

        server.presenceState("room:lobby", """{"alice":{"metas":[{"phx_ref":"a"}]},"bob":{"metas":[{"phx_ref":"b"}]}}""")
        bobRoom.awaitMessage("presence_state")
        out.println("bob     sees online: ${bobRoom.presence.list().joinToString { it.first }}")

        suspend fun say(from: String, room: dev.tether.phoenix.PhoenixChannel, to: dev.tether.phoenix.PhoenixChannel, text: String) {
            val msg = JsonObject(mapOf("from" to JsonPrimitive(from), "body" to JsonPrimitive(text)))
            room.push("new_msg", msg).await()
            val got = to.awaitMessage("new_msg", 5.seconds) { it.json.toString().contains(text) }
            val o = got.json as JsonObject
            out.println("%-7s received \"%s\" from %s".format(if (to === bobRoom) "bob" else "alice", o["body"]!!.jsonPrimitive.content, o["from"]!!.jsonPrimitive.content))
        }

        say("alice", aliceRoom, bobRoom, "hi bob")
        say("bob", bobRoom, aliceRoom, "hi alice")

        out.println("server  kicks every socket (1011)")
        server.kickSockets(1011, "restarting")
        waitUntil { server.joins.size == 4 && alice.isConnected && bob.isConnected }
        aliceRoom.awaitJoined(5.seconds)
        bobRoom.awaitJoined(5.seconds)
        out.println("both    reconnected and rejoined by themselves")
        say("alice", aliceRoom, bobRoom, "still there?")

        aliceRoom.leave()
        bobRoom.leave()
        out.println("both    left; ${server.joins.size} joins in all, ${server.pushes.size} messages relayed")
    } finally {
        alice.close()
        bob.close()
        server.close()
    }
}

private suspend fun waitUntil(check: () -> Boolean) {
    kotlinx.coroutines.withTimeout(10.seconds) { while (!check()) kotlinx.coroutines.delay(20.milliseconds) }
}
