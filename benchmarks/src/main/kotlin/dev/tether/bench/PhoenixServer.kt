package dev.tether.bench

import dev.tether.testkit.FakePhoenixServer

/** The fake Phoenix server of the push benchmark, in a JVM of its own: prints `listening <endpoint>` and serves. */
fun main() {
    val server = FakePhoenixServer().start()
    println("listening ${server.endpoint}")
    Thread.currentThread().join()
}
