package dev.tether.bench

import dev.tether.phoenix.Reply
import dev.tether.phoenix.phoenixSocket
import kotlinx.coroutines.Dispatchers
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
    runBlocking {
        val ch = socket.channel("room:bench")
        check(ch.join() is Reply.Ok)
        suspend fun round(n: Long): Measure {
            val left = AtomicLong(n)
            return measure(n) {
                runBlocking(Dispatchers.Default) {
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
        round(warmup.toLong())
        val m = round(total.toLong())
        println("RESULT {\"pushesPerSec\":${m.count * 1e9 / m.nanos},\"cpuUsPerPush\":${m.cpu / 1e3 / m.count}}")
    }
    socket.close()
}
