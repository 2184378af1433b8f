package dev.tether

import io.kotest.matchers.shouldBe
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import java.time.Duration as JDuration
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/** Waits (real time, bounded) for the first state matching [predicate]. */
suspend inline fun <reified T : ConnectionState> Connection.awaitState(
    timeout: Duration = 10.seconds,
    crossinline predicate: (T) -> Boolean = { true },
): T = withTimeout(timeout) { state.first { it is T && predicate(it) } as T }

val FIVE: JDuration = JDuration.ofSeconds(5)

/**
 * The engine the engine-independent tests run over: Tether's own unless the system property `tether.test.engine`
 * names an [dev.tether.engine.EngineFactory] class (tether-ktor runs them again over Ktor this way).
 */
val testEngine: dev.tether.engine.EngineFactory? = System.getProperty("tether.test.engine")?.let {
    Class.forName(it).getDeclaredConstructor().newInstance() as dev.tether.engine.EngineFactory
}

/** A client with quick timings for real-socket tests, on [testEngine]. */
fun quickClient(url: String, block: WebSocketClientBuilder.() -> Unit = {}): WebSocketClient = webSocketClient(url) {
    testEngine?.let { engine(it) }
    logInfo = false
    reconnect {
        backoff(20, 200, 2.0)
        jitter(0.0)
    }
    closeTimeout = 2.seconds
    block()
}

/**
 * Runs [misbehave] on the first connection (later ones echo) and returns how the client ended it and the close frame
 * the server got. [serve] starts the server for a script (default: the test kit's, agreeing to no extension).
 */
suspend fun afterMisbehaviour(
    misbehave: (dev.tether.testkit.ServerConnection) -> Unit,
    serve: (dev.tether.testkit.ConnectionScript) -> dev.tether.testkit.TestWebSocketServer =
        { dev.tether.testkit.TestWebSocketServer.withScript(it) },
    configure: WebSocketClientBuilder.() -> Unit = {},
): Pair<Disconnect, dev.tether.testkit.WireFrame?> {
    val n = java.util.concurrent.atomic.AtomicInteger()
    serve(dev.tether.testkit.ConnectionScript { c -> if (n.incrementAndGet() == 1) misbehave(c) else c.echo() }).use { server ->
        val disconnects = ArrayList<Disconnect>()
        quickClient(server.url()) {
            configure()
            onDisconnect { d ->
                synchronized(disconnects) { disconnects += d }
                Decision.StayDown
            }
        }.connect().use { conn ->
            conn.awaitState<ConnectionState.Down>()
            val sc = server.connections[0]
            sc.awaitClosed(FIVE) shouldBe true
            synchronized(disconnects) { disconnects.size shouldBe 1 } // exactly one terminal event for the connection
            return disconnects[0] to sc.received.firstOrNull { it.opcode == dev.tether.testkit.WireFrame.CLOSE }
        }
    }
}

/**
 * What Tether logged at WARN (or above) while [block] ran, the lines that mention [port] only: the tests' SLF4J
 * binding (slf4j-simple) writes to stderr, which is captured meanwhile.
 */
inline fun stderrLinesDuring(port: Int, block: () -> Unit): String {
    val original = System.err
    val captured = java.io.ByteArrayOutputStream()
    System.setErr(java.io.PrintStream(captured, true))
    try {
        block()
    } finally {
        System.setErr(original)
    }
    return captured.toString().lines().filter { ":$port" in it }.joinToString("\n")
}
