package dev.tether

import dev.tether.testkit.HandshakeResponse
import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import java.net.InetAddress
import java.net.ServerSocket
import kotlin.time.Duration.Companion.milliseconds

class HandshakeTest : FunSpec({

    test("subprotocols are offered in order and the negotiated one is exposed, with status and headers") {
        val server = TestWebSocketServer(handshakeHandler = { req ->
            HandshakeResponse.accept(req.subprotocols.first { it == "v2" })
        }).start()
        server.use {
            quickClient(server.url()) { subprotocols("v3", "v2") }.connect().use { conn ->
                val c = conn.awaitConnected()
                c.handshake.subprotocol shouldBe "v2"
                c.handshake.status shouldBe 101
                c.handshake.header("Upgrade") shouldBe "websocket"
                server.handshakeRequests.single().subprotocols shouldContainExactly listOf("v3", "v2")
            }
        }
    }

    test("a server that selects a subprotocol that was not offered fails the handshake") {
        val server = TestWebSocketServer(handshakeHandler = { HandshakeResponse.accept("other") }).start()
        server.use {
            quickClient(server.url()) { subprotocols("v1") }.connect().use { conn ->
                val down = conn.awaitState<ConnectionState.Down>()
                val e = down.cause.shouldBeInstanceOf<TetherException.HandshakeFailed>()
                e.status shouldBe 101
                e.message!! shouldContain "\"other\""
            }
        }
    }

    test("a server that accepts TCP but never answers the upgrade is a connect timeout") {
        ServerSocket(0, 50, InetAddress.getLoopbackAddress()).use { silent ->
            quickClient("ws://127.0.0.1:${silent.localPort}/") { connectTimeout = 300.milliseconds }.connect().use { conn ->
                val r = conn.awaitState<ConnectionState.Reconnecting>()
                r.cause.shouldBeInstanceOf<TetherException.ConnectFailed>().kind shouldBe TetherException.ConnectFailure.TIMEOUT
            }
        }
    }
})
