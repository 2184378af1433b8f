package dev.tether.testkit

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import java.io.File
import java.time.Duration
import java.util.concurrent.TimeUnit

/**
 * The fake Phoenix server's wire behaviour, checked with the official Phoenix JavaScript client (npm `phoenix`, with
 * `ws` as the transport). Maven installs both with `npm ci` before the tests (see this module's pom).
 */
class PhoenixJsConformanceTest : FunSpec({
    test("the official phoenix.js client joins, pushes (JSON and binary), gets replies, presence and broadcasts") {
        val dir = File("src/test/js")
        check(File(dir, "node_modules/phoenix").isDirectory) {
            "npm packages missing in ${dir.absolutePath}: the build runs `npm ci` there (needs Node.js and npm)"
        }
        FakePhoenixServer().start().use { server ->
            server.joinHandler = FakePhoenixServer.JoinHandler { _, _ -> FakePhoenixServer.Answer.ok("""{"hello":"node"}""") }
            server.pushHandler = FakePhoenixServer.PushHandler { _, event, payload ->
                if (event == "refuse") FakePhoenixServer.Answer.error("""{"reason":"nope"}""") else FakePhoenixServer.Answer.ok(payload)
            }
            val process = ProcessBuilder("node", "phoenix-client-check.cjs", server.endpoint)
                .directory(dir).redirectErrorStream(true).start()
            val lines = Recorder<String>()
            val reader = Thread { process.inputStream.bufferedReader().forEachLine { lines.record(it) } }.apply { start() }
            try {
                val t = Duration.ofSeconds(10)
                lines.awaitItem(t) shouldBe """joined {"hello":"node"}"""
                lines.awaitItem(t) shouldBe """reply {"n":1}"""
                lines.awaitItem(t) shouldBe "binreply 1,2,3"
                lines.awaitItem(t) shouldBe """error {"reason":"nope"}"""
                lines.awaitItem(t) shouldBe "READY"

                val join = server.joins.single()
                join.topic shouldBe "room:js"
                join.payload shouldBe """{"name":"node"}"""
                val hs = server.server.handshakeRequests.single()
                hs.path shouldBe "/socket/websocket"
                hs.queryParameter("vsn") shouldBe "2.0.0"
                hs.queryParameter("token") shouldBe "js-token"

                server.presenceState("room:js", """{"alice":{"metas":[{"phx_ref":"1"}]}}""")
                lines.awaitItem(t) shouldBe "presence alice"
                server.presenceDiff("room:js", """{"bob":{"metas":[{"phx_ref":"2"}]}}""", "{}")
                lines.awaitItem(t) shouldBe "presence alice,bob"
                val seen = System.nanoTime() // phoenix.js beats every second here (a late reply would make it reconnect)
                while (server.heartbeats == 0 && System.nanoTime() - seen < 10_000_000_000) Thread.sleep(20)
                server.heartbeats shouldBeGreaterThan 0

                server.broadcast("room:js", "shout", """{"x":1}""")
                lines.awaitItem(t) shouldBe """broadcast {"x":1}"""
                lines.awaitItem(t) shouldBe "left"
                process.waitFor(10, TimeUnit.SECONDS) shouldBe true
                process.exitValue() shouldBe 0
                lines.items.none { it.startsWith("FAIL") } shouldBe true
            } finally {
                process.destroyForcibly()
                reader.join(2000)
            }
        }
    }
})
