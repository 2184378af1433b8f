package dev.tether

import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldNotContain
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import java.io.ByteArrayOutputStream
import java.io.PrintStream
import kotlin.time.Duration.Companion.seconds

private fun liveThreads(): Int = Thread.getAllStackTraces().keys.count { it.isAlive }

class ResourceTest : FunSpec({

    test("no growth in live threads across 200 reconnect cycles, and none left after close") {
        TestWebSocketServer.withScript { it.close(1001, "restart") }.use { server ->
            val conn = quickClient(server.url()) {
                reconnect { backoff(1, 5, 1.0); jitter(0.0) }
                logErrors = false
            }.connect()
            suspend fun cycles(n: Int) = withTimeout(60.seconds) {
                while (server.connections.size < n) delay(5)
            }
            cycles(20)
            val baseline = liveThreads()
            cycles(220)
            // no fixed pause: threads that are ending get until the deadline to end; a leak never does
            suspend fun settles(): Int {
                withTimeoutOrNull(10.seconds) { while (liveThreads() - baseline > 8) delay(20) }
                return liveThreads() - baseline
            }
            settles() shouldBeLessThanOrEqual 8
            conn.close(1000)
            settles() shouldBeLessThanOrEqual 8
        }
    }

    test("credentials never appear in logs") {
        val captured = ByteArrayOutputStream()
        val original = System.err
        System.setErr(PrintStream(captured, true))
        try {
            TestWebSocketServer(handshakeHandler = { dev.tether.testkit.HandshakeResponse.refuse(401) }).start().use { server ->
                webSocketClient(server.url("/x?token=SECRET1&room=7")) {
                    header("Authorization", "Bearer SECRET2")
                    header("Cookie", "sid=SECRET3")
                    reconnect { backoff(10, 10, 1.0) }
                    connectWith { ctx -> ctx.defaults.copy(url = ctx.defaults.url + "&access_token=SECRET4") }
                }.connect().use { conn ->
                    withTimeout(5.seconds) { while (server.handshakeRequests.size < 2) delay(5) }
                    conn.state.value.toString() shouldNotContain "SECRET"
                }
                server.handshakeRequests[0].header("authorization") shouldBe "Bearer SECRET2" // they were sent
            }
        } finally {
            System.setErr(original)
        }
        val log = captured.toString()
        log shouldContain "room=***" // names stay, no query value is ever shown
        log shouldContain "token=***"
        log shouldNotContain "SECRET"
    }
})
