package dev.tether.examples

import dev.tether.ConnectionEvent
import dev.tether.micrometer.micrometer
import dev.tether.testkit.TestWebSocketServer
import dev.tether.webSocketClient
import io.micrometer.core.instrument.Tag
import io.micrometer.core.instrument.simple.SimpleMeterRegistry
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.io.PrintStream
import kotlin.time.Duration.Companion.seconds

/**
 * Metrics with Micrometer: a client measured from its first attempt (`micrometer(registry)`), a few echoes and a
 * server-side close with a reconnect, then the registry printed as a metrics backend would scrape it. A real app
 * passes its Prometheus, OTLP or Datadog registry instead of `SimpleMeterRegistry`.
 */
public fun main() {
    runMetricsExport(System.out)
}

/** Runs the example, printing to [out]. */
public fun runMetricsExport(out: PrintStream): Unit = runBlocking {
    val registry = SimpleMeterRegistry()
    TestWebSocketServer.echo().use { server ->
        webSocketClient(server.url("/echo")) {
            logInfo = false
            reconnect { backoff(50, 1_000, 2.0) }
            micrometer(registry, listOf(Tag.of("app", "example")))
        }.connect().use { conn ->
            withTimeout(10.seconds) {
                conn.awaitConnected()
                repeat(5) { conn.sendText("message $it"); conn.incoming.receive() }
                // the event stream is lossless (the state is conflated: a short Reconnecting can pass unseen), so the
                // wait for the second connect starts listening before the server closes
                val reconnected = async(start = CoroutineStart.UNDISPATCHED) { conn.events.first { it is ConnectionEvent.Connected } }
                server.connections.last().close(4000, "restarting")
                reconnected.await()
                conn.close(1000)
            }
        }
    }
    for (meter in registry.meters.sortedBy { it.id.name + it.id.tags }) {
        val tags = meter.id.tags.filter { it.key != "app" }.joinToString(",") { "${it.key}=${it.value}" }
        val value = meter.measure().joinToString(" ") { "${it.statistic.name.lowercase()}=${"%.1f".format(it.value)}" }
        out.println("${meter.id.name}{$tags} $value")
    }
}
