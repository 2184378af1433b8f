package dev.tether

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
