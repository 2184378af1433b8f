package dev.tether.bench

/**
 * Runs one scenario of one library in this (fresh) JVM and prints `RESULT <lib> <scenario> <json>`.
 * Arguments: `<lib> <scenario> <port> [n]`; scenarios: echo, rtt, bulk, idle, push, fleet and tls-open (tether only).
 */
fun main(args: Array<String>) {
    val (libName, scenario, port) = args
    val base = "ws://127.0.0.1:$port"
    val result: Map<String, Any> = try {
        if (scenario == "fleet") {
            fleet(base, args[3].toInt())
        } else if (scenario == "tls-open") {
            tlsOpen(args[3].toInt())
        } else {
            // the -deflate variants: the library compresses every message (threshold 0) and checks it agreed deflate
            if (scenario.endsWith("-deflate")) System.setProperty("bench.deflate", "true")
            val lib = Lib.of(libName)
            try {
                when (scenario) {
                    "echo" -> echo(lib, base)
                    "rtt" -> roundTrip(lib, base)
                    "bulk" -> bulk(lib, base)
                    "idle" -> idle(lib, base, args[3].toInt())
                    "push" -> push(lib, base)
                    "echo-deflate" -> echo(lib, base, path = "/echo-deflate")
                    "bulk-deflate" -> bulk(lib, base, path = "/echo-deflate")
                    else -> error("unknown scenario $scenario")
                }
            } finally {
                runCatching { lib.shutdown() }
            }
        }
    } catch (e: Throwable) {
        mapOf("error" to (e.message ?: e.toString()).replace('"', '\''))
    }
    val json = result.entries.joinToString(",", "{", "}") { (k, v) ->
        "\"$k\":" + if (v is Number) v.toString() else "\"$v\""
    }
    println("RESULT $libName $scenario $json")
    System.out.flush()
    // libraries with non-daemon threads must not keep the JVM up; a profiling run exits normally (JFR dumps then)
    if (System.getProperty("bench.profile") != null) kotlin.system.exitProcess(0) else Runtime.getRuntime().halt(0)
}
