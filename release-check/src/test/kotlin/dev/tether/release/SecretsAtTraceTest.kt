package dev.tether.release

import dev.tether.ConnectionState
import dev.tether.Frame
import dev.tether.testkit.HandshakeResponse
import dev.tether.testkit.TestWebSocketServer
import dev.tether.webSocketClient
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldNotContain
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import java.io.ByteArrayOutputStream
import java.io.PrintStream
import java.util.Base64
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * Tether's main scenarios with every logger at TRACE (this module's test JVM runs SLF4J at TRACE) and the frame trace
 * on: a refused upgrade, a reconnect, text, binary and ping both ways, a close by the server and one by the client.
 * Credentials go in every place they can (user info, query values, Authorization, Cookie, a header marked
 * sensitive, a token added by connectWith, a Set-Cookie from the server); none may appear in any log line.
 */
class SecretsAtTraceTest : FunSpec({

    test("no secret appears in any log line at TRACE, with the frame trace on") {
        val captured = ByteArrayOutputStream()
        val original = System.err
        System.setErr(PrintStream(captured, true))
        val upgrades = AtomicInteger()
        try {
            val server = TestWebSocketServer(handshakeHandler = {
                if (upgrades.getAndIncrement() == 0) {
                    HandshakeResponse.refuse(401, mapOf("Set-Cookie" to "sid=SECRET5", "WWW-Authenticate" to "Bearer"))
                } else {
                    HandshakeResponse.accept().withHeader("Set-Cookie", "sid=SECRET5")
                }
            }).start()
            server.use {
                val url = server.url("/feed?token=SECRET1&room=7").replaceFirst("ws://", "ws://alice:SECRET0@")
                webSocketClient(url) {
                    header("Authorization", "Bearer SECRET2")
                    header("Cookie", "sid=SECRET3")
                    header("X-Api-Key", "SECRET6")
                    sensitiveHeaders("X-Api-Key")
                    header("X-Custom-Key", "SECRET7") // not marked at all: hidden by default (issue 21, item 16)
                    header("X-Trace-Id", "visible-42")
                    safeToLogHeaders("X-Trace-Id", "X-Api-Key") // sensitive wins over safe
                    traceFrames = true
                    traceBinaryPayloads = true
                    reconnect { backoff(10, 10, 1.0) }
                    connectWith { ctx -> ctx.defaults.copy(url = ctx.defaults.url + "&access_token=SECRET4") }
                }.connect().use { conn ->
                    withTimeout(10.seconds) {
                        conn.awaitConnected()
                        conn.sendText("hello")
                        (conn.incoming.receive() as Frame.Text).text shouldBe "hello"
                        conn.send(Frame.Binary(byteArrayOf(1, 2, 3)))
                        conn.incoming.receive()
                        conn.send(Frame.Ping(byteArrayOf(9)))
                        server.connections.last().close(4000, "bye")
                        conn.state.first { it is ConnectionState.Reconnecting }
                        conn.awaitConnected()
                        conn.close(1000)
                    }
                }
            }
        } finally {
            System.setErr(original)
        }
        val log = captured.toString()
        log shouldContain "-> TEXT 5 B \"hello\"" // the frame trace was on
        log shouldContain "<- BINARY 3 B 010203"
        log shouldContain "upgrade request"
        log shouldContain "X-Api-Key: ***"
        log shouldContain "X-Custom-Key: ***"
        log shouldContain "X-Trace-Id: visible-42" // marked safe to log
        log shouldContain "token=***"
        log shouldNotContain "SECRET"
        log shouldNotContain Base64.getEncoder().encodeToString("alice:SECRET0".toByteArray()) // Basic credentials
        Regex("""\[c[0-9a-z]+-[0-9a-f]{4}#[0-9]+ ws://""").containsMatchIn(log) shouldBe true // the connection id
        (log.lines().size > 20) shouldBe true
    }
})
