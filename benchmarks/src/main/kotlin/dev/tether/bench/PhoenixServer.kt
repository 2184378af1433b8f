package dev.tether.bench

import dev.tether.testkit.FakePhoenixServer

/** The fake Phoenix server of the push benchmark, in a JVM of its own: prints `listening <endpoint>` and serves. */
fun main() {
    // not recorded: the records keep every push, and a whole benchmark makes millions (the heap filled and the server
    // spent its time collecting garbage late in long runs)
    val server = FakePhoenixServer().apply { recordPushes = false }.start()
    println("listening ${server.endpoint}")
    Thread.currentThread().join()
}
