package dev.tether

import dev.tether.testkit.FaultProxy
import dev.tether.testkit.HandshakeResponse
import dev.tether.testkit.Recorder
import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import java.time.Duration
import kotlin.time.Duration.Companion.seconds

/** The Kotlin examples of docs/testing.md, kept compiling and passing here. */
class TestingGuideTest : FunSpec({

    test("reconnect after a server restart") {
        TestWebSocketServer.echo().use { server ->
            val client = webSocketClient(server.url("/feed")) {
                reconnect { backoff(50, 500, 2.0) }
            }
            client.connect().use { conn ->
                val states = Recorder<ConnectionState>()
                // Recorder waits block the thread: collect on another one.
                val watcher = launch(Dispatchers.Default) { conn.state.collect(states::record) }

                states.awaitItem(Duration.ofSeconds(5)) { it is ConnectionState.Connected }
                server.stop()                                    // connections dropped, port closed
                states.awaitItem(Duration.ofSeconds(5)) { it is ConnectionState.Reconnecting }
                server.start()                                   // same port, same URL
                states.awaitItem(Duration.ofSeconds(5)) { it is ConnectionState.Connected }

                server.connections.size shouldBe 2
                watcher.cancel()
            }
        }
    }

    test("dead-link detection through the blackhole") {
        TestWebSocketServer.echo().use { server ->
            FaultProxy("127.0.0.1", server.port).start().use { proxy ->
                val client = webSocketClient(proxy.url("/feed")) {
                    pingInterval = 1.seconds
                    pongTimeout = 1.seconds
                }
                client.connect().use { conn ->
                    conn.awaitConnected()
                    proxy.blackhole()                            // sockets stay open, no byte passes
                    val r = conn.awaitState<ConnectionState.Reconnecting>()
                    r.cause.shouldBeInstanceOf<TetherException.DeadLink>()
                    proxy.heal()
                    conn.awaitConnected()
                }
            }
        }
    }

    test("handshake refusal") {
        val server = TestWebSocketServer(handshakeHandler = {
            HandshakeResponse.refuse(403, mapOf("X-Reason" to "banned"), "go away")
        }).start()
        server.use {
            webSocketClient(server.url()).connect().use { conn ->
                val down = conn.awaitState<ConnectionState.Down>() // 403 without a connect provider: stay down
                val error = down.cause.shouldBeInstanceOf<TetherException.HandshakeFailed>()
                error.status shouldBe 403
                error.headers["x-reason"] shouldBe listOf("banned")
                error.bodySnippet shouldBe "go away"
            }
        }
    }

    test("TLS with a certificate made at test time") {
        val cert = dev.tether.testkit.TestCertificate.create("dns:localhost", "ip:127.0.0.1")
        val server = TestWebSocketServer().apply { tls = cert }.start() // server.url() is now wss://127.0.0.1:port/
        server.use {
            server.url() shouldBe "wss://127.0.0.1:${server.port}/"
            webSocketClient(server.url()) { tls(cert.sslContext) }.connect().use { conn -> // trusts exactly this certificate
                conn.awaitConnected().handshake.tlsProtocol shouldBe "TLSv1.3"
            }
        }
    }
})
