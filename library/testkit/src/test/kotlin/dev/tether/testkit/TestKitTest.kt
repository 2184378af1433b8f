package dev.tether.testkit

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.longs.shouldBeGreaterThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import java.io.EOFException
import java.net.SocketException
import java.net.SocketTimeoutException
import java.time.Duration

private val FIVE = Duration.ofSeconds(5)

class TestKitTest : FunSpec({

    test("echo server: records the handshake and every frame, and echoes") {
        TestWebSocketServer.echo().use { server ->
            RawClient(server.port, "/chat?room=7&token=a%20b", mapOf("X-Test" to "1"), listOf("v2", "v1")).use { c ->
                c.status shouldBe 101
                c.sendText("hi")
                c.read().text shouldBe "hi"
                val sc = server.awaitConnection(FIVE)
                sc.handshake.path shouldBe "/chat"
                sc.handshake.queryParameter("room") shouldBe "7"
                sc.handshake.queryParameter("token") shouldBe "a b"
                sc.handshake.header("x-test") shouldBe "1"
                sc.handshake.subprotocols shouldContainExactly listOf("v2", "v1")
                sc.awaitReceived(1, FIVE).single().text shouldBe "hi"
            }
        }
    }

    test("refusal carries status, headers and body; acceptance selects a subprotocol") {
        val server = TestWebSocketServer(handshakeHandler = { req ->
            if (req.path == "/no") HandshakeResponse.refuse(503, mapOf("Retry-After" to "7"), "busy")
            else HandshakeResponse.accept("v1")
        }).start()
        server.use {
            RawClient(server.port, "/no").use { c ->
                c.status shouldBe 503
                c.responseHead shouldContain "Retry-After: 7"
            }
            RawClient(server.port, "/yes", protocols = listOf("v1")).use { c ->
                c.status shouldBe 101
                c.responseHead shouldContain "Sec-WebSocket-Protocol: v1"
            }
            server.handshakeRequests.map { it.path } shouldContainExactly listOf("/no", "/yes")
        }
    }

    test("stop and start again on the same port") {
        TestWebSocketServer.echo().use { server ->
            val port = server.port
            RawClient(port).use { it.status shouldBe 101 }
            server.stop()
            server.isRunning shouldBe false
            shouldThrow<java.net.ConnectException> { RawClient(port) }
            server.start()
            server.port shouldBe port
            RawClient(port).use { c ->
                c.status shouldBe 101
                c.sendText("back")
                c.read().text shouldBe "back"
            }
        }
    }

    test("scripts: close with a code, drop without a close frame, stop answering pings, raw bytes") {
        TestWebSocketServer.withScript { c ->
            when (c.handshake.path) {
                "/close" -> c.close(4000, "bye")
                "/drop" -> c.drop()
                "/raw" -> c.sendRaw(WireFrame.encode(WireFrame.TEXT, "x".toByteArray(), rsv = 4))
                "/silent" -> c.echo()
            }
        }.use { server ->
            server.onAccept = ConnectionScript { c -> if (c.handshake.path == "/silent") c.answerPings = false }
            RawClient(server.port, "/close").use { c ->
                val f = c.read()
                f.closeCode shouldBe 4000
                f.closeReason shouldBe "bye"
            }
            RawClient(server.port, "/drop").use { c ->
                shouldThrow<java.io.IOException> { c.read() }
            }
            RawClient(server.port, "/raw").use { c -> c.read().rsv shouldBe 4 }
            RawClient(server.port, "/silent").use { c ->
                c.send(WireFrame.PING, "p".toByteArray())
                c.sendText("after")
                c.read().text shouldBe "after" // no pong came first
            }
        }
    }

    test("setReading(false) stops reading: frames wait in the socket until reading resumes") {
        TestWebSocketServer.echo().use { server ->
            RawClient(server.port).use { c ->
                val sc = server.awaitConnection(FIVE)
                sc.setReading(false)
                c.sendText("held")
                // a barrier, not a sleep: the reader parks (WAITING) once it holds off; had it gone on reading, the
                // frame would be recorded instead
                val deadline = System.nanoTime() + FIVE.toNanos()
                while (sc.readerThread.state != Thread.State.WAITING && sc.received.isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(5)
                }
                sc.readerThread.state shouldBe Thread.State.WAITING
                sc.received.size shouldBe 0
                sc.setReading(true)
                sc.awaitReceived(1, FIVE).single().text shouldBe "held"
            }
        }
    }

    test("the server answers pings and a client close by default") {
        TestWebSocketServer.echo().use { server ->
            RawClient(server.port).use { c ->
                c.send(WireFrame.PING, "p".toByteArray())
                c.read().opcode shouldBe WireFrame.PONG
                c.send(WireFrame.CLOSE, WireFrame.closePayload(1000))
                c.read().closeCode shouldBe 1000
                shouldThrow<EOFException> { c.read() }
            }
        }
    }

    test("proxy: the blackhole really passes no byte, and heal lets the held bytes through") {
        TestWebSocketServer.echo().use { server ->
            FaultProxy("127.0.0.1", server.port).start().use { proxy ->
                RawClient(proxy.port).use { c ->
                    c.status shouldBe 101
                    val sc = server.awaitConnection(FIVE)
                    proxy.blackhole()
                    c.sendText("lost?")
                    c.socket.soTimeout = 500
                    shouldThrow<SocketTimeoutException> { c.read() }
                    sc.received.size shouldBe 0
                    proxy.heal()
                    c.socket.soTimeout = 5000
                    c.read().text shouldBe "lost?"
                }
            }
        }
    }

    test("proxy: cut really resets both sides") {
        TestWebSocketServer.echo().use { server ->
            FaultProxy("127.0.0.1", server.port).start().use { proxy ->
                RawClient(proxy.port).use { c ->
                    c.status shouldBe 101
                    val sc = server.awaitConnection(FIVE)
                    proxy.cutAll()
                    shouldThrow<SocketException> { c.read() }.message!!.lowercase() shouldContain "reset"
                    sc.awaitClosed(FIVE) shouldBe true
                }
            }
        }
    }

    test("proxy: latency is applied, refuseNew resets new connections") {
        TestWebSocketServer.echo().use { server ->
            FaultProxy("127.0.0.1", server.port).start().use { proxy ->
                RawClient(proxy.port).use { c ->
                    proxy.latency(Duration.ofMillis(200))
                    val t0 = System.nanoTime()
                    c.sendText("slow")
                    c.read().text shouldBe "slow"
                    ((System.nanoTime() - t0) / 1_000_000) shouldBeGreaterThanOrEqual 400L // both directions
                }
                proxy.refuseNew(true)
                shouldThrow<java.io.IOException> { RawClient(proxy.port).read() }
                proxy.heal()
                RawClient(proxy.port).use { it.status shouldBe 101 }
            }
        }
    }

    test("recorder: awaits in order, skips to a match, and reports leftovers") {
        val r = Recorder<String>()
        r.record("a")
        r.record("b")
        r.record("c")
        r.awaitItem(FIVE) shouldBe "a"
        r.awaitItem(FIVE) { it == "c" } shouldBe "c"
        r.assertExhausted()
        r.record("d")
        shouldThrow<AssertionError> { r.assertExhausted() }
        shouldThrow<AssertionError> { Recorder<String>().awaitItem(Duration.ofMillis(50)) }
        r.items shouldContainExactly listOf("a", "b", "c", "d")
    }
})
