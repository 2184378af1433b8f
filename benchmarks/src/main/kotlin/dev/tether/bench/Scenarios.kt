package dev.tether.bench

import java.lang.management.ManagementFactory
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong

/** CPU time of this whole process (every thread), in nanoseconds. */
fun cpuNanos(): Long = (ManagementFactory.getOperatingSystemMXBean() as com.sun.management.OperatingSystemMXBean).processCpuTime

/** A measured run: [count] units in [nanos] of wall time and [cpu] nanoseconds of CPU. */
class Measure(val count: Long, val nanos: Long, val cpu: Long)

/** Runs [block] (which must finish the work before returning) and measures it. */
inline fun measure(count: Long, block: () -> Unit): Measure {
    val c0 = cpuNanos()
    val t0 = System.nanoTime()
    block()
    return Measure(count, System.nanoTime() - t0, cpuNanos() - c0)
}

private val MSG64 = "m".repeat(64)

/** (a) 64-byte text echo with [inFlight] messages always in flight; [total] messages measured after a warm-up. */
fun echo(lib: Lib, base: String, inFlight: Int = 256, total: Long = 400_000, warmup: Long = 100_000, path: String = "/echo"): Map<String, Any> {
    fun round(n: Long): Measure {
        val sent = AtomicLong(inFlight.toLong())
        val done = CountDownLatch(1)
        val received = AtomicLong()
        val conn = lib.open("$base$path", Handler {
            val r = received.incrementAndGet()
            if (r == n) done.countDown()
            if (sent.incrementAndGet() <= n) MSG64 else null
        })
        val m = measure(n) {
            repeat(inFlight) { conn.send(MSG64) }
            check(done.await(300, TimeUnit.SECONDS)) { "echo did not finish: ${received.get()} of $n" }
        }
        conn.close()
        return m
    }
    round(warmup)
    val m = round(total)
    return mapOf("msgPerSec" to m.count * 1e9 / m.nanos, "cpuUsPerMsg" to m.cpu / 1e3 / m.count)
}

/** (b) 64-byte round trips, one at a time: p50 and p99 in microseconds. */
fun roundTrip(lib: Lib, base: String, total: Int = 50_000, warmup: Int = 20_000): Map<String, Any> {
    val samples = LongArray(total)
    val count = AtomicInteger()
    val done = CountDownLatch(1)
    val sentAt = AtomicLong()
    val conn = lib.open("$base/echo", Handler {
        val i = count.getAndIncrement()
        val now = System.nanoTime()
        if (i >= warmup && i - warmup < total) samples[i - warmup] = now - sentAt.get()
        if (i + 1 >= warmup + total) {
            done.countDown()
            null
        } else {
            sentAt.set(System.nanoTime())
            MSG64
        }
    })
    sentAt.set(System.nanoTime())
    conn.send(MSG64)
    check(done.await(300, TimeUnit.SECONDS)) { "round trips did not finish: ${count.get()}" }
    conn.close()
    samples.sort()
    return mapOf("p50Us" to samples[total / 2] / 1e3, "p99Us" to samples[total * 99 / 100] / 1e3)
}

/** (c) 1 MiB binary echo, two in flight: MiB/s and CPU milliseconds per MiB. */
fun bulk(lib: Lib, base: String, total: Long = 400, warmup: Long = 100, path: String = "/echo"): Map<String, Any> {
    val payload = ByteArray(1 shl 20) { (it % 251).toByte() }
    fun round(n: Long): Measure {
        val sent = AtomicLong(2)
        val received = AtomicLong()
        val done = CountDownLatch(1)
        val conn = lib.open("$base$path", Handler { msg ->
            check((msg as ByteArray).size == payload.size)
            if (received.incrementAndGet() == n) done.countDown()
            if (sent.incrementAndGet() <= n) payload else null
        })
        val m = measure(n) {
            repeat(2) { conn.send(payload) }
            check(done.await(300, TimeUnit.SECONDS)) { "bulk did not finish: ${received.get()} of $n" }
        }
        conn.close()
        return m
    }
    round(warmup)
    val m = round(total)
    return mapOf("mibPerSec" to m.count * 1e9 / m.nanos, "cpuMsPerMib" to m.cpu / 1e6 / m.count)
}

/** (d) [n] idle connections: retained heap and threads per connection, and the time to open them all. */
fun idle(lib: Lib, base: String, n: Int): Map<String, Any> {
    val threads = ManagementFactory.getThreadMXBean()
    val mem = ManagementFactory.getMemoryMXBean()
    repeat(3) { System.gc() }
    val heap0 = mem.heapMemoryUsage.used
    val threads0 = threads.threadCount
    val pool = Executors.newFixedThreadPool(64)
    val conns = java.util.concurrent.ConcurrentLinkedQueue<Conn>()
    val failed = AtomicInteger()
    val t0 = System.nanoTime()
    val futures = (0 until n).map { pool.submit { runCatching { conns += lib.open("$base/idle", null) }.onFailure { failed.incrementAndGet() } } }
    futures.forEach { it.get() }
    val openSeconds = (System.nanoTime() - t0) / 1e9
    pool.shutdown()
    repeat(3) { System.gc(); Thread.sleep(200) }
    val heap = mem.heapMemoryUsage.used - heap0
    val t = threads.threadCount - threads0
    val result = mapOf(
        "open" to conns.size, "failed" to failed.get(), "openSeconds" to openSeconds,
        "heapKiBPerConn" to heap / 1024.0 / conns.size.coerceAtLeast(1), "threads" to t,
    )
    System.getProperty("bench.holdSeconds")?.toLong()?.let { Thread.sleep(it * 1000) } // time to take a heap histogram
    conns.forEach { runCatching { it.close() } }
    return result
}

/** (e) [conns] connections each pushed [perConn] 64-byte messages by the server: messages/s and CPU per message. */
fun push(lib: Lib, base: String, conns: Int = 100, perConn: Int = 20_000): Map<String, Any> {
    fun round(per: Int): Measure {
        val total = conns.toLong() * per
        val received = AtomicLong()
        val done = CountDownLatch(1)
        val open = (0 until conns).map {
            lib.open("$base/push", Handler {
                if (received.incrementAndGet() == total) done.countDown()
                null
            })
        }
        val m = measure(total) {
            open.forEach { it.send("push $per") }
            check(done.await(300, TimeUnit.SECONDS)) { "push did not finish: ${received.get()} of $total" }
        }
        open.forEach { it.close() }
        return m
    }
    round(perConn / 4)
    val m = round(perConn)
    return mapOf("msgPerSec" to m.count * 1e9 / m.nanos, "cpuUsPerMsg" to m.cpu / 1e3 / m.count)
}
