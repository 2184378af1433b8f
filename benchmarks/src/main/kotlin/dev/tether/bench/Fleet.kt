package dev.tether.bench

import dev.tether.Connection
import dev.tether.ConnectionState
import dev.tether.webSocketClient
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.lang.management.ManagementFactory
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.seconds

/**
 * Tether only: [n] idle connections from one JVM open, stay up across two keepalive rounds (ping every 5 s), and all
 * reconnect after the server drops them and restarts. Threads are counted at each step.
 */
fun fleet(base: String, n: Int): Map<String, Any> = runBlocking {
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val threads = ManagementFactory.getThreadMXBean()
    val threads0 = threads.threadCount
    val client = webSocketClient("$base/idle") {
        logInfo = false
        logErrors = false
        pingInterval = 5.seconds
        pongTimeout = 5.seconds
        if (System.getProperty("bench.jitter") == "proportional") reconnect { jitter(0.2) } // the behaviour before 0.2
    }
    val drops = AtomicInteger()
    val recovered = AtomicInteger()
    val recoveredAt = java.util.concurrent.ConcurrentLinkedQueue<Long>() // when each reconnect succeeded (the server's arrivals)
    val conns = ArrayList<Connection>(n)
    val t0 = System.nanoTime()
    repeat(n) {
        val c = client.connectIn(scope)
        conns += c
        var wasUp = false
        var dropped = false
        scope.launch {
            c.state.collect { s ->
                if (s is ConnectionState.Connected) {
                    if (dropped) {
                        recoveredAt.add(System.nanoTime())
                        recovered.incrementAndGet()
                        dropped = false
                    }
                    wasUp = true
                } else if (wasUp && !dropped) {
                    dropped = true
                    drops.incrementAndGet()
                }
            }
        }
    }
    withTimeout(120.seconds) { while (conns.count { it.state.value is ConnectionState.Connected } < n) delay(100) }
    val openSeconds = (System.nanoTime() - t0) / 1e9
    val threadsOpen = threads.threadCount - threads0
    delay(12_000) // two keepalive rounds
    val dropsWhileIdle = drops.get()
    val threadsIdle = threads.threadCount - threads0
    val control = webSocketClient("$base/control") { logInfo = false }.connectIn(scope)
    control.awaitConnected()
    val t1 = System.nanoTime()
    control.sendText("restart")
    withTimeout(180.seconds) { while (recovered.get() < n) delay(100) }
    val recoverSeconds = (System.nanoTime() - t1) / 1e9
    // the server's arrivals after it came back, per 100 ms: peak against the mean over the recovery
    val times = recoveredAt.sorted()
    val windows = maxOf(1, ((times.last() - times.first()) / 100_000_000L + 1).toInt())
    val counts = IntArray(windows)
    times.forEach { counts[((it - times.first()) / 100_000_000L).toInt()]++ }
    val peakToMean = counts.max().toDouble() / (times.size.toDouble() / windows)
    val threadsAfter = threads.threadCount - threads0
    val ioThreads = Thread.getAllStackTraces().keys.count { it.name.startsWith("tether-io-") }
    conns.forEach { launch { it.close(1000) } }
    scope.cancel()
    mapOf(
        "connections" to n, "openSeconds" to openSeconds, "dropsWhileIdle" to dropsWhileIdle,
        "recoveredAfterRestart" to recovered.get(), "recoverSeconds" to recoverSeconds,
        "threadsOpen" to threadsOpen, "threadsIdle" to threadsIdle, "threadsAfterRestart" to threadsAfter,
        "ioThreads" to ioThreads, "arrivalPeakToMean" to peakToMean, "recoveryWindows" to windows,
    )
}
