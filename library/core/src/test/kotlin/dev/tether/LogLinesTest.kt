package dev.tether

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldNotContain
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.net.ServerSocket
import kotlin.time.Duration.Companion.seconds

/** What Tether's log lines say, read from the real logger's output (warnings reach stderr in the tests' setup). */
class LogLinesTest : FunSpec({
    test("a duration in a warning reads as people write it: 1 min 30 s, not Kotlin's 1m 30s") {
        val port = ServerSocket(0).use { it.localPort } // nothing listens there now: every attempt is refused
        val lines = stderrLinesDuring(port) {
            quickClient("ws://127.0.0.1:$port/") {
                logErrors = true
                reconnect { circuitBreaker(1, 90.seconds) }
            }.connect().use { conn ->
                runBlocking { withTimeout(30.seconds) { conn.awaitState<ConnectionState.Down>() } }
            }
        }
        lines shouldContain "circuit breaker open: 2 failed attempts within 1 min 30 s"
        lines shouldNotContain "1m 30s"
    }
})
