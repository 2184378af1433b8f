package dev.tether

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldNotContain
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

class ConfigValidationTest : FunSpec({

    context("invalid options fail at build time with a message naming the option") {
        withData(
            nameFn = { it.first },
            "url" to { webSocketClient("http://127.0.0.1/x") },
            "url" to { webSocketClient("ws:///nohost") },
            "url: port 99999" to { webSocketClient("ws://127.0.0.1:99999/x") },
            "url: port 0" to { webSocketClient("ws://127.0.0.1:0/x") },
            "url" to { webSocketClient("ws://exa mple.com/x") },
            "url" to { webSocketClient("ws://under_score.example/x") },
            "url must not have a fragment" to { webSocketClient("ws://127.0.0.1/x#frag") },
            "proxy / proxySelector" to {
                webSocketClient("ws://127.0.0.1") {
                    @OptIn(dev.tether.engine.TetherEngineApi::class)
                    engine { error("not used") }
                    proxy(ProxyConfig.http("127.0.0.1", 3128))
                }
            },
            "compression: only Tether's own engine" to {
                webSocketClient("ws://127.0.0.1") {
                    @OptIn(dev.tether.engine.TetherEngineApi::class)
                    engine { error("not used") }
                    compression { threshold = 0 }
                }
            },
            "compression.threshold" to { webSocketClient("ws://127.0.0.1") { compression { threshold = -1 } } },
            "compression.level" to { webSocketClient("ws://127.0.0.1") { compression { level = 0 } } },
            "compression.clientMaxWindowBits" to { webSocketClient("ws://127.0.0.1") { compression { clientMaxWindowBits = 16 } } },
            "compression.serverMaxWindowBits" to { webSocketClient("ws://127.0.0.1") { compression { serverMaxWindowBits = 7 } } },
            "connectTimeout" to { webSocketClient("ws://127.0.0.1") { connectTimeout = Duration.ZERO } },
            "pingInterval" to { webSocketClient("ws://127.0.0.1") { pingInterval = (-1).seconds } },
            "pongTimeout" to { webSocketClient("ws://127.0.0.1") { pongTimeout = Duration.ZERO } },
            "closeTimeout" to { webSocketClient("ws://127.0.0.1") { closeTimeout = (-5).milliseconds } },
            "maxFrameSize" to { webSocketClient("ws://127.0.0.1") { maxFrameSize = 10 } },
            "maxMessageSize" to { webSocketClient("ws://127.0.0.1") { maxMessageSize = 1L shl 40 } },
            "incomingBuffer.capacity" to { webSocketClient("ws://127.0.0.1") { incomingBuffer(0) } },
            "incomingBuffer.overflow" to { webSocketClient("ws://127.0.0.1") { incomingBuffer(8, OverflowPolicy.FAIL) } },
            "outgoingBuffer.capacity" to { webSocketClient("ws://127.0.0.1") { outgoingBuffer(-1) } },
            "reconnect.backoff initialMillis" to { webSocketClient("ws://127.0.0.1") { reconnect { backoff(0, 10, 1.5) } } },
            "reconnect.backoff maxMillis" to { webSocketClient("ws://127.0.0.1") { reconnect { backoff(500, 100, 1.5) } } },
            "reconnect.backoff factor" to { webSocketClient("ws://127.0.0.1") { reconnect { backoff(100, 1000, 0.5) } } },
            "reconnect.jitter" to { webSocketClient("ws://127.0.0.1") { reconnect { jitter(1.5) } } },
            "reconnect.maxAttempts" to { webSocketClient("ws://127.0.0.1") { reconnect { maxAttempts = 0 } } },
            "reconnect.stableAfter" to { webSocketClient("ws://127.0.0.1") { reconnect { stableAfter = (-1).seconds } } },
            "subprotocols" to { webSocketClient("ws://127.0.0.1") { subprotocols("a b") } },
            "header name" to { webSocketClient("ws://127.0.0.1") { header("Bad Name", "v") } },
            "header \"X\" value" to { webSocketClient("ws://127.0.0.1") { header("X", "a\r\nInjected: 1") } },
        ) { (option, build) ->
            val e = shouldThrow<IllegalArgumentException> { build() }
            e.message!! shouldContain option
        }
    }

    test("a rejected URL never echoes its credentials or query values") {
        for (bad in listOf(
            "http://user:s3cret@example.com/x?token=t0ken",
            "ws://user:s3cret@exa mple.com/x?token=t0ken",
            "ws://user:s3cret@example.com:99999/x?token=t0ken",
            "ws://user:s3cret@under_score.example/x?token=t0ken",
            "ws://user:s3cret@example.com/x?token=t0ken#frag",
        )) {
            val e = shouldThrow<IllegalArgumentException> { webSocketClient(bad) }
            e.message!! shouldContain "url"
            e.message!! shouldNotContain "s3cret"
            e.message!! shouldNotContain "t0ken"
        }
    }

    test("the defaults are the documented ones") {
        val c = webSocketClient("ws://127.0.0.1:9/x").config
        c.pingInterval shouldBe 30.seconds
        c.pongTimeout shouldBe 10.seconds
        c.connectTimeout shouldBe 10.seconds
        c.closeTimeout shouldBe 5.seconds
        c.maxFrameSize shouldBe (1L shl 20)
        c.maxMessageSize shouldBe (1L shl 20)
        c.incomingBuffer.capacity shouldBe 64
        c.incomingBuffer.overflow shouldBe OverflowPolicy.SUSPEND
        c.outgoingBuffer.capacity shouldBe 64
        c.outgoingBuffer.overflow shouldBe OverflowPolicy.SUSPEND
        c.offlinePolicy shouldBe OfflinePolicy.QUEUE
        c.reconnect.enabled shouldBe true
        c.reconnect.maxAttempts shouldBe null
        c.reconnect.stableAfter shouldBe 10.seconds
        c.reconnect.backoff.initial shouldBe 250.milliseconds
        c.reconnect.backoff.max shouldBe 30.seconds
        c.reconnect.backoff.factor shouldBe 1.5
        c.reconnect.backoff.jitter shouldBe 0.2
        c.sslContext shouldBe null
        c.userAgent shouldBe "tether/${dev.tether.internal.TetherVersion.value}"
        c.logErrors shouldBe true
        c.logInfo shouldBe true
    }

    test("the config does not leak credentials through toString") {
        val c = webSocketClient("ws://user:pw@127.0.0.1:9/x?token=s3cr3t&room=1") { header("Authorization", "Bearer s3cr3t") }
        c.toString() shouldNotContain "s3cr3t"
        c.toString() shouldNotContain "pw@"
        c.toString() shouldContain "room=***" // names stay, no query value is ever shown
    }

    context("close arguments are checked") {
        withData(0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000) { code ->
            shouldThrow<IllegalArgumentException> { CloseCodes.requireValid(code, "") }.message!! shouldContain "close code $code"
            shouldThrow<IllegalArgumentException> { Frame.Close(code) }
        }
        withData(1000, 1003, 1007, 1014, 3000, 4999) { code -> CloseCodes.requireValid(code, "ok") }
        test("a reason over 123 bytes of UTF-8 is rejected, 123 is fine") {
            CloseCodes.requireValid(1000, "a".repeat(123))
            shouldThrow<IllegalArgumentException> { CloseCodes.requireValid(1000, "é".repeat(62)) }.message!! shouldContain
                "124 bytes"
        }
        test("Connection.close rejects them before doing anything") {
            webSocketClient("ws://127.0.0.1:9") { logErrors = false; logInfo = false }.connect().use { conn ->
                shouldThrow<IllegalArgumentException> { conn.close(1005) }
                shouldThrow<IllegalArgumentException> { conn.close(1000, "x".repeat(124)) }
                (conn.state.value is ConnectionState.Closed) shouldBe false
            }
        }
    }

    test("backoff is a pure function with validation") {
        val b = Backoff(100.milliseconds, 1.seconds, 2.0, 0.0)
        (1..6).map { b.baseDelay(it).inWholeMilliseconds } shouldBe listOf(100L, 200, 400, 800, 1000, 1000)
        b.baseDelay(10_000) shouldBe 1.seconds // no overflow far out
        shouldThrow<IllegalArgumentException> { b.baseDelay(0) }
        shouldThrow<IllegalArgumentException> { Backoff(1.seconds, 100.milliseconds, 2.0, 0.0) }.message!! shouldContain "backoff.max"
        Backoff.DEFAULT.baseDelay(1) shouldBe 250.milliseconds
    }
})
