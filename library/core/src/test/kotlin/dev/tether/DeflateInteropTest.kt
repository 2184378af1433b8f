package dev.tether

import dev.tether.internal.deflate.sampleJson
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import kotlinx.coroutines.withTimeout
import java.io.File
import java.util.concurrent.TimeUnit
import kotlin.time.Duration.Companion.seconds

/**
 * permessage-deflate against an implementation that is not ours: Node's `ws` server on zlib, installed by the test
 * kit's build (`library/testkit/src/test/js`, `npm ci`). Both directions compress every message, across context
 * takeover and smaller windows on both sides.
 */
class DeflateInteropTest : FunSpec({
    val dir = File("../testkit/src/test/js")

    context("Tether and Node's ws agree on compressed messages both ways") {
        withData(
            mapOf(
                "context takeover, full windows" to """{"threshold":0}""",
                "small windows, no server context takeover" to
                    """{"threshold":0,"clientMaxWindowBits":9,"serverMaxWindowBits":10,"serverNoContextTakeover":true}""",
                "no client context takeover" to """{"threshold":0,"clientNoContextTakeover":true}""",
            ),
        ) { options ->
            check(File(dir, "node_modules/ws").isDirectory) {
                "npm packages missing in ${dir.absolutePath}: the test kit's build runs `npm ci` there (needs Node.js and npm)"
            }
            val node = ProcessBuilder("node", "deflate-echo-server.cjs", options).directory(dir)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start()
            try {
                val port = node.inputStream.bufferedReader().readLine()?.removePrefix("listening ")?.trim()
                    ?: error("the ws server did not start")
                quickClient("ws://127.0.0.1:$port/") { compression { threshold = 0 } }.connect().use { conn ->
                    conn.awaitConnected().handshake.header("sec-websocket-extensions")!! shouldContain "permessage-deflate"
                    val messages = (0 until 60).map { i ->
                        val data = sampleJson(50 + i * 397)
                        if (i % 3 == 0) Frame.Binary(data) else Frame.Text(String(data))
                    } + Frame.Text("") + Frame.Text("€ ünïcödé ".repeat(500))
                    withTimeout(20.seconds) {
                        messages.forEach { conn.send(it) }
                        messages.forEach { conn.incoming.receive() shouldBe it }
                    }
                }
            } finally {
                node.outputStream.close()
                if (!node.waitFor(5, TimeUnit.SECONDS)) node.destroyForcibly()
            }
        }
    }
})
