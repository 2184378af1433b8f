package dev.tether

import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.withTimeout
import kotlin.time.Duration.Companion.seconds

class EchoTest : FunSpec({
    test("connects and echoes text and binary over a real socket") {
        TestWebSocketServer.echo().use { server ->
            quickClient(server.url("/echo")).connect().use { conn ->
                val connected = conn.awaitConnected()
                connected.handshake.status shouldBe 101
                conn.sendText("hello")
                conn.sendBinary(byteArrayOf(1, 2, 3))
                withTimeout(5.seconds) {
                    conn.incoming.receive() shouldBe Frame.Text("hello")
                    conn.incoming.receive() shouldBe Frame.Binary(byteArrayOf(1, 2, 3))
                }
                val closed = conn.close(CloseCodes.NORMAL, "bye")
                closed.code shouldBe 1000
                closed.reason shouldBe "bye"
                conn.state.value.shouldBeInstanceOf<ConnectionState.Closed>()
                val serverSide = server.connections.single()
                serverSide.awaitClosed(FIVE) shouldBe true
                serverSide.received.last().closeCode shouldBe 1000
            }
        }
    }
})
