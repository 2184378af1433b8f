package dev.tether.bench

import dev.tether.phoenix.Reply
import dev.tether.phoenix.phoenixSocket
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import java.util.concurrent.atomic.AtomicLong
import kotlin.time.Duration.Companion.seconds

/**
 * Tether's side of the push benchmark, as the Phoenix docs show: join `room:bench`, then [inFlight] coroutines each
 * push "echo" and await the reply, until [total] replies came (after [warmup]). Prints one RESULT line.
 */
fun main(args: Array<String>) {
    val (endpoint, inFlight, total, warmup) = args
    val socket = phoenixSocket(endpoint) {
        pushTimeout = 60.seconds
        tether { logInfo = false }
    }
    socket.connect()
    // Experiment (-Dbench.pushers=single|serial): the pushers on one thread of their own, or serially on Default
    val single = if (System.getProperty("bench.pushers") == "single") java.util.concurrent.Executors.newSingleThreadExecutor { r -> Thread(r, "pushers").apply { isDaemon = true } } else null
    val pushers = when (System.getProperty("bench.pushers")) {
        "single" -> single!!.asCoroutineDispatcher()
        "serial" -> Dispatchers.Default.limitedParallelism(1)
        "unconfined" -> Dispatchers.Unconfined
        else -> Dispatchers.Default
    }
    runBlocking {
        val ch = socket.channel("room:bench")
        check(ch.join() is Reply.Ok)
        suspend fun round(n: Long): Measure {
            val left = AtomicLong(n)
            return measure(n) {
                runBlocking(pushers) {
                    repeat(inFlight.toInt()) { c ->
                        launch {
                            var i = c.toLong()
                            while (left.getAndDecrement() > 0) {
                                val payload = JsonObject(mapOf("n" to JsonPrimitive(i++), "body" to JsonPrimitive("0123456789abcdef0123456789abcdef")))
                                val r = ch.push("echo", payload).await()
                                check(r is Reply.Ok) { "push failed: $r" }
                            }
                        }
                    }
                }
            }
        }
        /** The phoenix.js style: N chains of push → onReply → push (callbacks on the socket's serial dispatcher). */
        fun chained(n: Long): Measure {
            val left = AtomicLong(n)
            val done = java.util.concurrent.CountDownLatch(1)
            val replies = AtomicLong()
            fun next(i: Long) {
                if (left.getAndDecrement() <= 0) return
                val payload = JsonObject(mapOf("n" to JsonPrimitive(i), "body" to JsonPrimitive("0123456789abcdef0123456789abcdef")))
                ch.enqueue("echo", payload).onReply { r ->
                    check(r is Reply.Ok) { "push failed: $r" }
                    if (replies.incrementAndGet() == n) done.countDown() else next(i + 1)
                }
            }
            return measure(n) {
                repeat(inFlight.toInt()) { next(it.toLong()) }
                check(done.await(300, java.util.concurrent.TimeUnit.SECONDS))
            }
        }
        val callbacks = System.getProperty("bench.style") == "callbacks"
        if (callbacks) chained(warmup.toLong()) else round(warmup.toLong())
        val m = if (callbacks) chained(total.toLong()) else round(total.toLong())
        println("RESULT {\"pushesPerSec\":${m.count * 1e9 / m.nanos},\"cpuUsPerPush\":${m.cpu / 1e3 / m.count}}")
    }
    socket.close()
}
