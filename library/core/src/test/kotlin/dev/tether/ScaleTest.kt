package dev.tether

import dev.tether.internal.nio.EventLoopGroup
import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import kotlin.time.Duration.Companion.seconds

/** Threads of this JVM that are not the test kit's (its server runs two threads per connection). */
private fun clientThreads(): Int = Thread.getAllStackTraces().keys.count { it.isAlive && !it.name.startsWith("testkit-") }

private fun ioThreads(): Int = Thread.getAllStackTraces().keys.count { it.isAlive && it.name.startsWith("tether-io-") }

/**
 * Connections share the engine's few selector threads: opening more connections adds no thread. (The
 * 10 000-connection run is in benchmarks/, scenario `fleet`: a test-kit server would need 20 000 threads.)
 */
class ScaleTest : FunSpec({

    test("300 connections share at most the configured selector threads, and threads stay constant as they grow") {
        TestWebSocketServer.echo().use { server ->
            val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
            try {
                val ponged = java.util.concurrent.ConcurrentHashMap.newKeySet<Connection>()
                val client = quickClient(server.url()) {
                    pingInterval = 1.seconds
                    onPong { _, rtt -> if (rtt != null) ponged.add(connection) } // a keepalive ping of ours was answered
                }
                val conns = ArrayList<Connection>()
                repeat(50) { conns += client.connectIn(scope) }
                withTimeout(30.seconds) { conns.forEach { it.awaitConnected() } }
                val at50 = clientThreads()
                repeat(250) { conns += client.connectIn(scope) }
                withTimeout(60.seconds) { conns.forEach { it.awaitConnected() } }
                val at300 = clientThreads()
                ioThreads() shouldBeLessThanOrEqual EventLoopGroup.shared.size
                (at300 - at50) shouldBeLessThanOrEqual 2 // Dispatchers.Default may start its last worker; no thread per connection
                // a keepalive round over all of them: every connection still up, each echo answered
                withTimeout(30.seconds) { while (ponged.size < 300) delay(20) }
                conns.count { it.state.value is ConnectionState.Connected } shouldBe 300
                conns.forEach { it.sendText("hi") }
                withTimeout(30.seconds) { conns.forEach { it.incoming.receive() shouldBe Frame.Text("hi") } }
            } finally {
                scope.cancel()
            }
        }
    }
})
