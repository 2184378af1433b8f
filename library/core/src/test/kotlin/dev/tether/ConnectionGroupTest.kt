package dev.tether

import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import kotlin.time.Duration.Companion.seconds

class ConnectionGroupTest : FunSpec({
    test("a group starts, observes, pauses, stops and closes named connections together") {
        TestWebSocketServer.echo().use { server ->
            val group = ConnectionGroup()
            val client = quickClient(server.url())
            listOf("prices", "news", "chat").forEach { group.start(it, client) }
            withTimeout(10.seconds) { group.states.first { s -> s.size == 3 && s.values.all { it is ConnectionState.Connected } } }
            group.names shouldBe setOf("prices", "news", "chat")
            group.stop("news")!!.code shouldBe 1000
            group.names shouldBe setOf("prices", "chat")
            group.states.value.keys shouldBe setOf("prices", "chat")
            group.pauseAll()
            withTimeout(10.seconds) { group.states.first { s -> s.values.all { it is ConnectionState.Paused } } }
            group.resumeAll()
            withTimeout(10.seconds) { group.states.first { s -> s.values.all { it is ConnectionState.Connected } } }
            group["chat"]!!.sendText("hi")
            withTimeout(5.seconds) { group["chat"]!!.incoming.receive() } shouldBe Frame.Text("hi")
            val chat = group["chat"]!!
            group.closeAll()
            chat.state.value.shouldBeClosed()
            group.names shouldBe emptySet()
            server.connections.forEach { it.awaitClosed(FIVE) shouldBe true }
        }
    }
})

private fun ConnectionState.shouldBeClosed() = (this is ConnectionState.Closed) shouldBe true
