package dev.tether.micrometer

import dev.tether.Connection
import dev.tether.ConnectionState
import dev.tether.Decision
import dev.tether.Frame
import dev.tether.OfflinePolicy
import dev.tether.TetherException
import dev.tether.WebSocketClientBuilder
import dev.tether.testkit.HandshakeResponse
import dev.tether.testkit.TestWebSocketServer
import dev.tether.webSocketClient
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.micrometer.core.instrument.Counter
import io.micrometer.core.instrument.Meter
import io.micrometer.core.instrument.simple.SimpleMeterRegistry
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import java.net.ServerSocket
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.time.Duration.Companion.seconds

/**
 * Each meter of `docs/observability.md` moves when what it measures happens, and only then: one test per meter or
 * group of meters, over real sockets to the test kit's server.
 */
class MeterMovementTest : FunSpec({

    suspend fun eventually(what: String, check: () -> Boolean) =
        withTimeout(10.seconds) { while (!check()) delay(10) }.also { println("moved: $what") }

    fun SimpleMeterRegistry.count(name: String, vararg tags: String): Double = find(name).tags(*tags).counter()?.count() ?: 0.0
    fun SimpleMeterRegistry.gauge(name: String, vararg tags: String): Double = find(name).tags(*tags).gauge()?.value() ?: -1.0

    fun client(url: String, registry: SimpleMeterRegistry, block: WebSocketClientBuilder.() -> Unit = {}) = webSocketClient(url) {
        logErrors = false
        logInfo = false
        pingInterval = kotlin.time.Duration.ZERO
        reconnect { backoff(20, 20, 1.0); jitter(0.0) }
        micrometer(registry)
        block()
    }

    /** Runs [block] with a connected client of a fresh echo server, measured in [registry]. */
    suspend fun withEcho(
        registry: SimpleMeterRegistry,
        config: WebSocketClientBuilder.() -> Unit = {},
        block: suspend (TestWebSocketServer, Connection) -> Unit,
    ) = TestWebSocketServer.echo().use { server ->
        client(server.url(), registry, config).connect().use { conn ->
            conn.awaitConnected()
            block(server, conn)
        }
    }

    val states = listOf("connecting", "connected", "reconnecting", "paused", "down", "closing", "closed")

    /** The state gauge is 1 for [state] and 0 for every other state. */
    fun SimpleMeterRegistry.shouldBeIn(state: String) {
        for (s in states) withClue(s) { gauge("tether.connection.state", "state", s) shouldBe if (s == state) 1.0 else 0.0 }
    }

    test("tether.connection.state: 1 for the state the connection is in, through all seven") {
        val registry = SimpleMeterRegistry()
        val upgrade = CountDownLatch(1)
        var stayDown = false
        TestWebSocketServer(
            handshakeHandler = { upgrade.await(10, TimeUnit.SECONDS); HandshakeResponse.accept() },
            script = { c -> c.answerClose = false; c.echo() },
        ).start().use { server ->
            client(server.url(), registry) {
                closeTimeout = 1.seconds
                onDisconnect { d -> if (stayDown) Decision.StayDown else defaultDecision(d) }
            }.connect().use { conn ->
                withTimeout(20.seconds) {
                    conn.state.first { it is ConnectionState.Connecting }
                    eventually("connecting") { registry.gauge("tether.connection.state", "state", "connecting") == 1.0 }
                    registry.shouldBeIn("connecting") // held: the server has not answered the upgrade
                    upgrade.countDown()
                    conn.awaitConnected()
                    registry.shouldBeIn("connected")
                    conn.pause()
                    conn.state.first { it is ConnectionState.Paused }
                    registry.shouldBeIn("paused")
                    conn.resume()
                    conn.awaitConnected()
                    server.stop()
                    conn.state.first { it is ConnectionState.Reconnecting || it is ConnectionState.Connecting }
                    registry.shouldBeIn(stateName(conn.state.value))
                    server.start()
                    conn.awaitConnected()
                    stayDown = true
                    server.connections.last().close(4001, "stay down")
                    conn.state.first { it is ConnectionState.Down }
                    registry.shouldBeIn("down")
                    stayDown = false
                    conn.reconnect()
                    conn.awaitConnected()
                    val closing = launch { conn.close(1000) } // unanswered by the server: Closing lasts the close timeout
                    conn.state.first { it is ConnectionState.Closing }
                    registry.shouldBeIn("closing")
                    closing.join()
                    registry.shouldBeIn("closed")
                }
            }
        }
    }

    test("tether.connects: success per connect, failure tagged with the error's class") {
        val registry = SimpleMeterRegistry()
        val port = ServerSocket(0).use { it.localPort } // nothing listens there any more
        client("ws://127.0.0.1:$port/", registry).connect().use { conn ->
            eventually("failure") { registry.count("tether.connects", "outcome", "failure", "error", "ConnectFailed") >= 1.0 }
            registry.count("tether.connects", "outcome", "success") shouldBe 0.0
        }
        TestWebSocketServer.echo().use { server ->
            client(server.url(), registry).connect().use { it.awaitConnected() }
            eventually("success") { registry.count("tether.connects", "outcome", "success", "error", "none") == 1.0 }
        }
    }

    test("tether.disconnects: by the client with 1000, by the server with its code") {
        val registry = SimpleMeterRegistry()
        withEcho(registry) { server, conn ->
            registry.count("tether.disconnects") shouldBe 0.0
            server.connections.single().close(1001, "going away")
            eventually("by the server") { registry.count("tether.disconnects", "initiator", "server", "code", "1001") == 1.0 }
            conn.awaitConnected()
            conn.close(1000)
            eventually("by the client") { registry.count("tether.disconnects", "initiator", "client", "code", "1000") == 1.0 }
        }
    }

    test("tether.messages and tether.bytes: each way, text and binary, payload bytes") {
        val registry = SimpleMeterRegistry()
        withEcho(registry) { _, conn ->
            conn.sendText("abc")
            conn.send(Frame.Binary(ByteArray(10)))
            withTimeout(10.seconds) { repeat(2) { conn.incoming.receive() } }
            eventually("in") { registry.count("tether.messages", "direction", "in", "type", "binary") == 1.0 }
            registry.count("tether.messages", "direction", "in", "type", "text") shouldBe 1.0
            registry.count("tether.messages", "direction", "out", "type", "text") shouldBe 1.0
            registry.count("tether.messages", "direction", "out", "type", "binary") shouldBe 1.0
            registry.count("tether.bytes", "direction", "out") shouldBe 13.0
            registry.count("tether.bytes", "direction", "in") shouldBe 13.0
        }
    }

    test("tether.reconnect.delay and tether.ping.rtt: a reconnect's delay, a keepalive round trip") {
        val registry = SimpleMeterRegistry()
        withEcho(registry, { pingInterval = 1.seconds }) { server, _ ->
            eventually("rtt") { (registry.find("tether.ping.rtt").timer()?.count() ?: 0L) >= 1L }
            (registry.find("tether.reconnect.delay").timer()?.count() ?: 0L) shouldBe 0L
            server.connections.single().close(1001, "again")
            eventually("delay") { registry.find("tether.reconnect.delay").timer()?.count() == 1L }
            registry.find("tether.reconnect.delay").timer()!!.totalTime(TimeUnit.MILLISECONDS) shouldBe 20.0
        }
    }

    test("tether.send.failures by reason, and tether.outbox.depth while frames wait offline") {
        val registry = SimpleMeterRegistry()
        TestWebSocketServer.echo().use { server ->
            client(server.url(), registry) { offlinePolicy = OfflinePolicy.REJECT }.connect().use { conn ->
                conn.awaitConnected()
                server.stop()
                conn.state.first { it !is ConnectionState.Connected }
                shouldThrow<TetherException.SendFailed> { conn.sendText("refused") }
                eventually("not_connected") { registry.count("tether.send.failures", "reason", "not_connected") == 1.0 }
            }
        }
        // a second client in the same registry, without connection ids: its gauges take over from the first's
        TestWebSocketServer.echo().use { server ->
            client(server.url(), registry) { reconnect { backoff(60_000, 60_000, 1.0); jitter(0.0) } }.connect().use { conn ->
                conn.awaitConnected()
                registry.gauge("tether.outbox.depth") shouldBe 0.0
                server.stop()
                conn.state.first { it is ConnectionState.Reconnecting }
                repeat(3) { conn.enqueue(Frame.Text("later $it")) }
                registry.gauge("tether.outbox.depth") shouldBe 3.0
                server.start()
                conn.reconnect()
                eventually("drained") { registry.gauge("tether.outbox.depth") == 0.0 }
            }
        }
    }

    test("tether.incoming.backlog: messages read but held while the application is behind") {
        val registry = SimpleMeterRegistry()
        TestWebSocketServer.withScript { c -> repeat(20) { c.sendText("m$it") }; c.echo() }.use { server ->
            client(server.url(), registry) { incomingBuffer(1) }.connect().use { conn ->
                conn.awaitConnected()
                eventually("behind") { registry.gauge("tether.incoming.backlog") > 0.0 }
                withTimeout(10.seconds) { repeat(20) { conn.incoming.receive() } }
                eventually("caught up") { registry.gauge("tether.incoming.backlog") == 0.0 }
            }
        }
    }

    test("tether.events.dropped: events the binder missed while it lagged") {
        val stalled = CountDownLatch(1)
        val release = CountDownLatch(1)
        val registry = object : SimpleMeterRegistry() {
            override fun newCounter(id: Meter.Id): Counter {
                if (id.name == "tether.messages") { stalled.countDown(); release.await(10, TimeUnit.SECONDS) }
                return super.newCounter(id)
            }
        }
        TestWebSocketServer.withScript { c -> c.awaitFrame(java.time.Duration.ofSeconds(5)); repeat(3000) { c.sendText("e") }; c.echo() }.use { server ->
            client(server.url(), registry).connect().use { conn ->
                conn.awaitConnected()
                conn.sendText("go") // the binder stalls on its first message counter
                withTimeout(10.seconds) {
                    stalled.await()
                    repeat(3000) { conn.incoming.receive() } // 3 000 FrameIn events while it is stalled
                }
                registry.count("tether.events.dropped") shouldBe 0.0
                release.countDown()
                // the binder catches up; the count of what it missed comes before the connection's next event
                eventually("dropped") { conn.enqueue(Frame.Text("next")); registry.count("tether.events.dropped") > 0.0 }
            }
        }
    }
})

private fun stateName(s: ConnectionState): String = when (s) {
    is ConnectionState.Connecting -> "connecting"
    is ConnectionState.Connected -> "connected"
    is ConnectionState.Reconnecting -> "reconnecting"
    is ConnectionState.Paused -> "paused"
    is ConnectionState.Down -> "down"
    is ConnectionState.Closing -> "closing"
    is ConnectionState.Closed -> "closed"
}

private inline fun <T> withClue(clue: String, block: () -> T): T = io.kotest.assertions.withClue(clue, block)

