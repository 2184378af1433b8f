package dev.tether.bench

import dev.tether.phoenix.Reply
import dev.tether.phoenix.phoenixSocket
import dev.tether.testkit.FakePhoenixServer
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import java.io.File
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicLong
import kotlin.time.Duration.Companion.seconds

/**
 * The Phoenix push benchmark: Tether's Phoenix client against phoenix.js (Node, `benchmarks/phoenix/bench.cjs`), both
 * against the test kit's fake Phoenix server running in a JVM of its own, with 16 and 3 200 pushes in flight. Every run
 * is a fresh process; Tether and phoenix.js alternate. Prints pushes per second and the client's CPU per push.
 *
 * `java -cp … dev.tether.bench.PhoenixBenchKt [rounds] [warm-up pushes]` (3 rounds and 30 000 by default; the JVM's
 * compiler is still busy after 30 000, so 300 000 shows the steady state a long-lived socket runs in).
 */
fun main(args: Array<String>) {
    val rounds = args.firstOrNull()?.toInt() ?: 3
    val warmup = args.getOrNull(1)?.toInt() ?: 30_000
    val java = File(System.getProperty("java.home"), "bin/java").path
    val cp = System.getProperty("java.class.path")
    val dir = File("phoenix").takeIf { it.isDirectory } ?: File("benchmarks/phoenix")
    if (!File(dir, "node_modules").isDirectory) {
        check(ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(dir).inheritIO().start().waitFor() == 0)
    }
    val server = ProcessBuilder(java, "-Xmx2g", "-cp", cp, "dev.tether.bench.PhoenixServerKt").redirectError(ProcessBuilder.Redirect.INHERIT).start()
    val endpoint = server.inputStream.bufferedReader().readLine().removePrefix("listening ").trim()
    val results = LinkedHashMap<String, MutableList<Pair<Double, Double>>>()
    try {
        for (r in 0 until rounds) {
            for (inFlight in listOf(16, 3200)) {
                val total = 100_000
                val order = if (r % 2 == 0) listOf("tether", "phoenix.js") else listOf("phoenix.js", "tether")
                for (client in order) {
                    val cmd = if (client == "tether") {
                        listOf(java, "-Xmx2g", "-cp", cp, "dev.tether.bench.PhoenixClientKt", endpoint, "$inFlight", "$total", "$warmup")
                    } else {
                        listOf("node", "bench.cjs", endpoint, "$inFlight", "$total", "$warmup")
                    }
                    val p = ProcessBuilder(cmd).directory(if (client == "tether") File(".") else dir).redirectErrorStream(true).start()
                    val line = p.inputStream.bufferedReader().readLines().lastOrNull { it.startsWith("RESULT") } ?: "RESULT {}"
                    p.waitFor()
                    println("round $r: $client inFlight=$inFlight $line")
                    val rate = Regex("\"pushesPerSec\":([0-9.]+)").find(line)?.groupValues?.get(1)?.toDouble() ?: Double.NaN
                    val cpu = Regex("\"cpuUsPerPush\":([0-9.]+)").find(line)?.groupValues?.get(1)?.toDouble() ?: Double.NaN
                    results.getOrPut("$client|$inFlight") { ArrayList() } += rate to cpu
                }
            }
        }
    } finally {
        server.destroy() // a busy server JVM has been seen to outlive SIGTERM and skew later measurements
        if (!server.waitFor(5, TimeUnit.SECONDS)) server.destroyForcibly().waitFor()
    }
    println()
    println("| client | in flight | pushes/s (median) | CPU µs/push (median) | runs |")
    println("|---|---|---|---|---|")
    for ((key, runs) in results) {
        val (client, inFlight) = key.split('|')
        val rate = runs.map { it.first }.sorted()[runs.size / 2]
        val cpu = runs.map { it.second }.sorted()[runs.size / 2]
        println("| $client | $inFlight | ${"%.0f".format(rate)} | ${"%.1f".format(cpu)} | ${runs.joinToString(", ") { "%.0f".format(it.first) }} |")
    }
}
