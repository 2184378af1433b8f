package dev.tether.bench

import java.io.File
import java.util.concurrent.TimeUnit

/**
 * Runs every scenario of every library, each in a fresh JVM, interleaved (the order of libraries rotates every
 * round), against one local Node `ws` server, and prints the medians as a Markdown table.
 *
 * Options: `--rounds=3 --libs=tether,ktor,... --scenarios=echo,rtt,bulk,push,idle --idle=5000,10000 --fleet=10000`.
 */
fun main(args: Array<String>) {
    val opts = args.flatMap { it.split(' ') }.filter { it.startsWith("--") }
        .associate { it.removePrefix("--").substringBefore('=') to it.substringAfter('=') }
    val rounds = opts["rounds"]?.toInt() ?: 3
    val libs = opts["libs"]?.split(',') ?: Lib.ALL
    val scenarios = opts["scenarios"]?.split(',') ?: listOf("echo", "rtt", "bulk", "push", "idle")
    val idleSizes = opts["idle"]?.split(',')?.map { it.toInt() } ?: listOf(5000, 10_000)
    val fleetSize = opts["fleet"]?.toIntOrNull() ?: 10_000
    val serverDir = File("server").takeIf { it.isDirectory } ?: File("benchmarks/server")
    if (!File(serverDir, "node_modules").isDirectory) {
        check(ProcessBuilder("npm", "ci", "--no-audit", "--no-fund").directory(serverDir).inheritIO().start().waitFor() == 0)
    }
    val withTls = "tls-open" in scenarios
    val serverBuilder = ProcessBuilder("bash", "-c", "ulimit -n 20000 && exec node server.js 0").directory(serverDir)
        .redirectError(ProcessBuilder.Redirect.INHERIT)
    if (withTls) {
        val cert = tlsCertificate()
        serverBuilder.environment()["BENCH_TLS_CERT"] = cert.first.absolutePath
        serverBuilder.environment()["BENCH_TLS_KEY"] = cert.second.absolutePath
        System.setProperty("bench.tlsCert", cert.first.absolutePath)
    }
    val server = serverBuilder.start()
    val serverOut = server.inputStream.bufferedReader()
    tlsPort = if (withTls) serverOut.readLine().removePrefix("tls ").trim() else null
    val port = serverOut.readLine().removePrefix("listening ").trim()
    val results = ArrayList<Triple<String, String, Map<String, Double>>>()
    val log = File("target/bench-results.txt").apply { parentFile.mkdirs() }
    try {
        for (r in 0 until rounds) {
            for (scenario in scenarios - "fleet" - "tls-open") {
                val sizes = if (scenario == "idle") (if (r == 0) idleSizes else emptyList()) else listOf(0)
                for (size in sizes) {
                    val order = libs.indices.map { libs[(it + r) % libs.size] }
                    for (lib in order) {
                        val name = if (scenario == "idle") "idle$size" else scenario
                        val line = runOne(lib, scenario, port, size)
                        log.appendText("round $r: $line\n")
                        println("round $r: $line")
                        results += Triple(lib, name, parse(line))
                    }
                }
            }
        }
        if (withTls) {
            for (r in 0 until rounds) {
                val line = runOne("tether", "tls-open", port, fleetSize)
                log.appendText("round $r: $line\n")
                println("round $r: $line")
            }
        }
        if ("fleet" in scenarios || opts.containsKey("fleet")) {
            val line = runOne("tether", "fleet", port, fleetSize)
            log.appendText("$line\n")
            println(line)
        }
    } finally {
        server.destroy()
    }
    println()
    println(table(libs, results))
}

private fun runOne(lib: String, scenario: String, port: String, n: Int): String {
    val java = File(System.getProperty("java.home"), "bin/java").path
    val tls = if (scenario == "tls-open") listOf("-Dbench.tlsCert=" + System.getProperty("bench.tlsCert"), "-Dbench.tlsPort=$tlsPort") else emptyList()
    val cmd = listOf(java, "-Xmx4g") + tls + listOf("-cp", System.getProperty("java.class.path"), "dev.tether.bench.MainKt", lib, scenario, port) +
        (if (n > 0) listOf(n.toString()) else emptyList())
    val p = ProcessBuilder(cmd).redirectErrorStream(true).start()
    val out = StringBuilder()
    val reader = Thread { p.inputStream.bufferedReader().forEachLine { out.appendLine(it) } }.apply { start() }
    if (!p.waitFor(if (scenario == "idle") 300 else 600, TimeUnit.SECONDS)) {
        p.destroyForcibly()
        return "RESULT $lib $scenario {\"error\":\"timed out\"}"
    }
    reader.join()
    return out.lines().lastOrNull { it.startsWith("RESULT ") } ?: "RESULT $lib $scenario {\"error\":\"no result: ${out.toString().takeLast(300).replace('\n', ' ').replace('"', '\'')}\"}"
}

private fun parse(line: String): Map<String, Double> =
    Regex("\"(\\w+)\":([-0-9.Ee]+)").findAll(line).associate { it.groupValues[1] to it.groupValues[2].toDouble() }

private fun median(values: List<Double>): Double? = values.sorted().let { if (it.isEmpty()) null else it[it.size / 2] }

private fun table(libs: List<String>, results: List<Triple<String, String, Map<String, Double>>>): String {
    fun cell(lib: String, scenario: String, key: String, digits: Int): String =
        median(results.filter { it.first == lib && it.second == scenario }.mapNotNull { it.third[key] })
            ?.let { "%.${digits}f".format(it) } ?: "–"
    val sb = StringBuilder()
    sb.appendLine("| library | (a) echo msg/s | (a) CPU µs/msg | (b) p50 µs | (b) p99 µs | (c) MiB/s | (c) CPU ms/MiB | (d) KiB/conn @5k | threads @5k | (d) KiB/conn @10k | threads @10k | (e) push msg/s | (e) CPU µs/msg |")
    sb.appendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (lib in libs) {
        sb.appendLine(
            "| $lib | ${cell(lib, "echo", "msgPerSec", 0)} | ${cell(lib, "echo", "cpuUsPerMsg", 2)} | " +
                "${cell(lib, "rtt", "p50Us", 0)} | ${cell(lib, "rtt", "p99Us", 0)} | " +
                "${cell(lib, "bulk", "mibPerSec", 0)} | ${cell(lib, "bulk", "cpuMsPerMib", 2)} | " +
                "${cell(lib, "idle5000", "heapKiBPerConn", 1)} | ${cell(lib, "idle5000", "threads", 0)} | " +
                "${cell(lib, "idle10000", "heapKiBPerConn", 1)} | ${cell(lib, "idle10000", "threads", 0)} | " +
                "${cell(lib, "push", "msgPerSec", 0)} | ${cell(lib, "push", "cpuUsPerMsg", 2)} |",
        )
    }
    if (results.any { it.second.endsWith("-deflate") }) {
        fun ratio(lib: String, key: String, scenario: String): String {
            val plain = median(results.filter { it.first == lib && it.second == scenario }.mapNotNull { it.third[key] })
            val packed = median(results.filter { it.first == lib && it.second == "$scenario-deflate" }.mapNotNull { it.third[key] })
            return if (plain == null || packed == null) "–" else "%.2f×".format(packed / plain)
        }
        sb.appendLine()
        sb.appendLine("| library | (a) deflate msg/s | (a) deflate CPU µs/msg | CPU ratio to (a) | (c) deflate MiB/s | (c) deflate CPU ms/MiB | CPU ratio to (c) |")
        sb.appendLine("|---|---|---|---|---|---|---|")
        for (lib in libs) {
            sb.appendLine(
                "| $lib | ${cell(lib, "echo-deflate", "msgPerSec", 0)} | ${cell(lib, "echo-deflate", "cpuUsPerMsg", 2)} | " +
                    "${ratio(lib, "cpuUsPerMsg", "echo")} | ${cell(lib, "bulk-deflate", "mibPerSec", 0)} | " +
                    "${cell(lib, "bulk-deflate", "cpuMsPerMib", 2)} | ${ratio(lib, "cpuMsPerMib", "bulk")} |",
            )
        }
    }
    return sb.toString()
}

/** The TLS port of the server, when the tls-open scenario runs. */
private var tlsPort: String? = null

/** A self-signed certificate for 127.0.0.1 made now with openssl (PEM certificate and key under target/). */
private fun tlsCertificate(): Pair<File, File> {
    val dir = File("target/tls").apply { mkdirs() }
    val cert = File(dir, "cert.pem")
    val key = File(dir, "key.pem")
    val cmd = listOf(
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout", key.path, "-out", cert.path,
    )
    check(ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor() == 0) {
        "openssl could not make the test certificate"
    }
    return cert to key
}
