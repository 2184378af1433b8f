package dev.tether.micrometer

import dev.tether.ConnectionState
import dev.tether.Frame
import dev.tether.testkit.HandshakeResponse
import dev.tether.testkit.TestWebSocketServer
import dev.tether.webSocketClient
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.micrometer.core.instrument.Tag
import io.micrometer.core.instrument.simple.SimpleMeterRegistry
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

class TetherMetricsTest : FunSpec({

    suspend fun eventually(check: () -> Boolean) = withTimeout(10.seconds) { while (!check()) delay(10) }

    test("a client's connections are measured from their first attempt, with bounded tags") {
        val registry = SimpleMeterRegistry()
        val upgrades = AtomicInteger()
        TestWebSocketServer(handshakeHandler = {
            if (upgrades.getAndIncrement() == 0) HandshakeResponse.refuse(503) else HandshakeResponse.accept()
        }).start().use { server ->
            webSocketClient(server.url("/feed?token=secret")) {
                logErrors = false
                logInfo = false
                pingInterval = 50.milliseconds
                reconnect { backoff(10, 10, 1.0); jitter(0.0) }
                micrometer(registry, listOf(Tag.of("app", "test")))
            }.connect().use { conn ->
                withTimeout(10.seconds) {
                    conn.awaitConnected()
                    repeat(3) { conn.sendText("abc"); conn.incoming.receive() }
                    conn.send(Frame.Binary(ByteArray(10)))
                    conn.incoming.receive()
                    eventually { (registry.find("tether.ping.rtt").timer()?.count() ?: 0) >= 1 }
                    server.connections.last().close(4001, "go away")
                    conn.state.first { it is ConnectionState.Reconnecting }
                    conn.awaitConnected()
                    conn.close(1000)
                }
            }
        }
        fun count(name: String, vararg tags: String) = registry.find(name).tags(*tags).counter()?.count() ?: 0.0
        eventually { registry.find("tether.connection.state").tag("state", "closed").gauge()?.value() == 1.0 }
        count("tether.connects", "outcome", "failure", "error", "HandshakeFailed") shouldBe 1.0
        count("tether.connects", "outcome", "success") shouldBe 2.0
        count("tether.disconnects", "initiator", "server", "code", "4xxx", "cause", "none") shouldBe 1.0
        count("tether.messages", "direction", "out", "type", "text") shouldBe 3.0
        count("tether.messages", "direction", "in", "type", "text") shouldBe 3.0
        count("tether.messages", "direction", "out", "type", "binary") shouldBe 1.0
        count("tether.bytes", "direction", "in") shouldBe 19.0 // 3 × 3 + 10
        registry.find("tether.reconnect.delay").timer()!!.count() shouldBe 2L // after the 503 and after the 4001
        registry.find("tether.connection.state").tag("state", "connected").gauge()!!.value() shouldBe 0.0
        registry.find("tether.outbox.depth").gauge()!!.value() shouldBe 0.0
        for (meter in registry.meters) {
            meter.id.getTag("app") shouldBe "test"
            meter.id.tags.none { "secret" in it.value || "127.0.0.1" in it.value } shouldBe true
            meter.id.getTag("connection") shouldBe null
        }
    }

    test("bind() after connect records from then on, with the connection id if asked, and close() removes the meters") {
        val registry = SimpleMeterRegistry()
        TestWebSocketServer.echo().use { server ->
            webSocketClient(server.url()) { logInfo = false }.connect().use { conn ->
                conn.awaitConnected()
                val metrics = TetherMetrics.bind(conn, registry, tagConnectionId = true)
                withTimeout(10.seconds) {
                    conn.sendText("x")
                    conn.incoming.receive()
                }
                eventually { (registry.find("tether.messages").tags("direction", "in").counter()?.count() ?: 0.0) == 1.0 }
                registry.find("tether.connection.state").tag("state", "connected").tag("connection", conn.id).gauge()!!.value() shouldBe 1.0
                metrics.close()
                registry.meters.size shouldBe 0
            }
        }
    }
})
