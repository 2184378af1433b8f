package dev.tether

import dev.tether.testkit.HandshakeResponse
import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.collections.shouldHaveSize
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldStartWith
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import java.net.InetAddress
import java.net.ServerSocket
import java.util.Base64
import kotlin.concurrent.thread
import kotlin.time.Duration.Companion.seconds

/** How an upgrade answered by [response] ends: the handshake failure that keeps the client down. */
private suspend fun refusedBy(response: HandshakeResponse): TetherException.HandshakeFailed {
    val server = TestWebSocketServer(handshakeHandler = { response }).start()
    server.use {
        quickClient(server.url()) { onError { Decision.StayDown } }.connect().use { conn ->
            val down = conn.awaitState<ConnectionState.Down>()
            return down.cause.shouldBeInstanceOf<TetherException.HandshakeFailed>()
        }
    }
}

/** A server on loopback that answers any request with [raw] bytes, then holds the socket until the client closes it. */
private fun rawServer(raw: ByteArray): ServerSocket {
    val ss = ServerSocket(0, 50, InetAddress.getLoopbackAddress())
    thread(isDaemon = true, name = "raw-http-server") {
        while (!ss.isClosed) {
            val s = runCatching { ss.accept() }.getOrNull() ?: return@thread
            s.use {
                runCatching {
                    val input = s.getInputStream()
                    var last4 = 0
                    while (last4 != 0x0D0A0D0A) {
                        val b = input.read()
                        if (b < 0) return@runCatching
                        last4 = (last4 shl 8) or b
                    }
                    s.getOutputStream().write(raw)
                    s.getOutputStream().flush()
                    do { val b = input.read() } while (b >= 0) // until the client gives up and closes
                }
            }
        }
    }
    return ss
}

class UpgradeTest : FunSpec({

    test("the request carries a fresh 16-byte key per attempt, version 13, Host, User-Agent and Origin when set") {
        TestWebSocketServer.echo().use { server ->
            quickClient(server.url("/feed?x=1")) { header("Origin", "https://app.example.com") }.connect().use { conn ->
                conn.awaitConnected()
                conn.reconnect()
                withTimeout(5.seconds) { while (server.handshakeRequests.size < 2) delay(5) }
            }
            val (a, b) = server.handshakeRequests
            Base64.getDecoder().decode(a.header("sec-websocket-key")) shouldHaveSize 16
            a.header("sec-websocket-key") shouldNotBe b.header("sec-websocket-key")
            a.header("sec-websocket-version") shouldBe "13"
            a.header("host") shouldBe "127.0.0.1:${server.port}"
            a.header("user-agent")!! shouldStartWith "tether/"
            a.header("origin") shouldBe "https://app.example.com"
            a.path shouldBe "/feed"
            a.query shouldBe "x=1"
        }
    }

    test("userAgent can be changed or left out") {
        TestWebSocketServer.echo().use { server ->
            quickClient(server.url()) { userAgent = "my-app/2" }.connect().use { it.awaitConnected() }
            quickClient(server.url()) { userAgent = null }.connect().use { it.awaitConnected() }
            server.handshakeRequests[0].header("user-agent") shouldBe "my-app/2"
            server.handshakeRequests[1].header("user-agent") shouldBe null
        }
    }

    test("user info in the URL becomes Basic authorization and is never shown") {
        TestWebSocketServer.echo().use { server ->
            val url = server.url().replace("ws://", "ws://alice:s3cret@")
            quickClient(url).connect().use { conn ->
                val c = conn.awaitConnected()
                c.handshake.url shouldBe server.url().replace("ws://", "ws://***@")
            }
            server.handshakeRequests[0].header("authorization") shouldBe
                "Basic " + Base64.getEncoder().encodeToString("alice:s3cret".toByteArray())
        }
    }

    context("a 101 that breaks RFC 6455 §4.1 fails the handshake") {
        withData(
            mapOf(
                "no Sec-WebSocket-Accept" to (HandshakeResponse.accept().withoutHeader("Sec-WebSocket-Accept") to "no Sec-WebSocket-Accept"),
                "a wrong Sec-WebSocket-Accept" to
                    (HandshakeResponse.accept().withHeader("Sec-WebSocket-Accept", "dGhlIHNhbXBsZSBub25jZQ==") to "does not match"),
                "no Upgrade header" to (HandshakeResponse.accept().withoutHeader("Upgrade") to "Upgrade: websocket"),
                "Upgrade: h2c" to (HandshakeResponse.accept().withHeader("Upgrade", "h2c") to "Upgrade: websocket"),
                "no Connection: Upgrade" to (HandshakeResponse.accept().withHeader("Connection", "keep-alive") to "Connection: Upgrade"),
                "an extension that was never offered" to
                    (HandshakeResponse.accept().withHeader("Sec-WebSocket-Extensions", "x-webkit-deflate-frame") to "\"x-webkit-deflate-frame\""),
            ),
        ) { (response, message) ->
            val e = refusedBy(response)
            e.status shouldBe 101
            e.message!! shouldContain message
        }
    }

    test("Connection and Upgrade tokens are matched case-insensitively inside lists") {
        val response = HandshakeResponse.accept().withHeader("Connection", "keep-alive, UPGRADE").withHeader("Upgrade", "WebSocket")
        TestWebSocketServer(handshakeHandler = { response }).start().use { server ->
            quickClient(server.url()).connect().use { it.awaitConnected().handshake.status shouldBe 101 }
        }
    }

    context("a response that is not HTTP, or breaks a limit, fails the handshake with a clear message") {
        withData(
            mapOf(
                "garbage" to ("SSH-2.0-OpenSSH_9.2\r\n\r\n".toByteArray() to "not an HTTP/1.1 status line"),
                "a 9 KiB header line" to
                    ("HTTP/1.1 101 Switching Protocols\r\nX-Big: ${"a".repeat(9000)}\r\n\r\n".toByteArray() to "longer than 8192"),
                "a bare LF" to ("HTTP/1.1 101 Switching Protocols\nUpgrade: websocket\n\n".toByteArray() to "bare LF"),
                "200 header lines" to
                    (("HTTP/1.1 101 Switching Protocols\r\n" + "X-A: b\r\n".repeat(200) + "\r\n").toByteArray() to "more than 100"),
            ),
        ) { (raw, message) ->
            rawServer(raw).use { ss ->
                quickClient("ws://127.0.0.1:${ss.localPort}/").connect().use { conn ->
                    val down = conn.awaitState<ConnectionState.Down>()
                    down.cause.shouldBeInstanceOf<TetherException.HandshakeFailed>().message!! shouldContain message
                }
            }
        }
    }

    test("a refusal keeps its status, headers, body snippet and Retry-After") {
        val e = refusedBy(HandshakeResponse.refuse(429, mapOf("Retry-After" to "7", "X-Why" to "slow down"), "too many"))
        e.status shouldBe 429
        e.bodySnippet shouldBe "too many"
        e.retryAfterMillis shouldBe 7000L
        e.headers["x-why"] shouldBe listOf("slow down")
    }

    context("headers of the upgrade itself are rejected at build time, naming the header") {
        withData("Upgrade", "Connection", "Sec-WebSocket-Key", "sec-websocket-version", "Sec-WebSocket-Extensions") { name ->
            val e = runCatching { webSocketClient("ws://127.0.0.1:1/") { header(name, "x") } }.exceptionOrNull()
            e.shouldBeInstanceOf<IllegalArgumentException>().message!! shouldContain name
        }
    }
})
