package dev.tether.examples

import dev.tether.Decision
import dev.tether.TetherException
import dev.tether.serialization.deserialized
import dev.tether.serialization.sendSerialized
import dev.tether.testkit.TestWebSocketServer
import dev.tether.webSocketClient
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.Serializable
import java.io.PrintStream
import kotlin.time.Duration.Companion.seconds

/** What the feed sends. */
@Serializable
public data class Quote(val symbol: String, val price: Double)

/** What the client asks for. */
@Serializable
public data class Subscribe(val symbols: List<String>)

/**
 * Typed messages with kotlinx.serialization: the client subscribes with a `@Serializable` request and reads the
 * feed as a `Flow<Quote>`. The embedded server sends one malformed message among the quotes: it goes to `onError`
 * with the raw frame, and the feed goes on.
 */
public fun main() {
    runTypedPriceFeed(System.out)
}

/** Runs the example, printing to [out]. */
public fun runTypedPriceFeed(out: PrintStream): Unit = runBlocking {
    val server = TestWebSocketServer.withScript { c ->
        val request = c.awaitFrame(java.time.Duration.ofSeconds(5)).text // {"symbols":["ACME","INIT"]}
        out.println("server  got $request") // before the quotes, so it is printed before the client can finish
        c.sendText("""{"symbol":"ACME","price":101.5}""")
        c.sendText("""{"symbol":"INIT","price":"not a number"}""") // malformed: reported, skipped
        c.sendText("""{"symbol":"INIT","price":42.0}""")
        c.sendText("""{"symbol":"ACME","price":101.75}""")
        c.awaitClosed(java.time.Duration.ofSeconds(5))
    }
    server.use {
        webSocketClient(server.url("/quotes")) {
            logInfo = false
            logErrors = false
            onError { e ->
                if (e is TetherException.DecodeFailed) out.println("client  skipped a malformed quote: ${e.frame}")
                Decision.Ignore
            }
        }.connect().use { conn ->
            withTimeout(10.seconds) {
                conn.awaitConnected()
                conn.sendSerialized(Subscribe(listOf("ACME", "INIT")))
                conn.deserialized<Quote>().take(3).collect { q -> out.println("client  ${q.symbol} at ${q.price}") }
            }
        }
    }
}
