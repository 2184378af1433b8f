package dev.tether.testkit.internal

import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.util.concurrent.CopyOnWriteArrayList

/** The daemon threads of one server or proxy, so that closing it can end every one of them. */
internal class DaemonThreads {
    private val threads = CopyOnWriteArrayList<Thread>()

    /** Starts [body] on a new daemon thread named [name]. */
    fun start(name: String, body: () -> Unit): Thread = adopt(Thread(body, name).apply { isDaemon = true }).also { it.start() }

    /** Tracks a thread made elsewhere (not started here). */
    fun adopt(thread: Thread): Thread {
        threads.removeIf { !it.isAlive && it.state != Thread.State.NEW }
        threads.add(thread)
        return thread
    }

    /** Interrupts every thread and waits up to 2 s for each. */
    fun stopAll() {
        threads.forEach { it.interrupt() }
        threads.forEach { it.join(2000) }
        threads.clear()
    }
}
