package dev.tether.internal.nio

import java.util.concurrent.atomic.AtomicInteger

/**
 * The process-wide group of selector threads that serves every connection of Tether's NIO engine: no thread and no
 * selector per connection. Its size is `min(2, processors)` unless the system property `dev.tether.ioThreads` says
 * otherwise (1 to 64). A loop thread starts with its first channel and ends [lingerMillis] after its last one left, so
 * an idle process holds no Tether thread.
 */
internal class EventLoopGroup(val size: Int, val lingerMillis: Long) {
    private val lock = Any()
    private val loops = arrayOfNulls<EventLoop>(size)
    private val next = AtomicInteger()
    private val serial = AtomicInteger()

    /** A loop for one more channel, the least loaded one (round-robin among equals); call [release] once when done. */
    fun acquire(): EventLoop = synchronized(lock) {
        var best = -1
        val start = next.getAndIncrement().mod(size)
        for (i in 0 until size) {
            val idx = (start + i) % size
            val l = loops[idx]
            if (l == null) {
                if (best < 0 || loops[best] != null) best = idx
                break
            }
            if (best < 0 || l.channels < loops[best]!!.channels) best = idx
        }
        val loop = loops[best] ?: EventLoop(this, "tether-io-${serial.getAndIncrement()}").also {
            loops[best] = it
            it.start()
        }
        loop.channels++
        loop
    }

    fun release(loop: EventLoop) {
        synchronized(lock) { loop.channels-- }
    }

    /** Called by [loop] after each iteration: true if it has had no channel for the linger time and must end. */
    fun mayRetire(loop: EventLoop): Boolean {
        if (loop.channels > 0 || loop.selector.keys().isNotEmpty()) {
            loop.idleSince = 0L
            return false
        }
        val now = System.nanoTime()
        if (loop.idleSince == 0L) {
            loop.idleSince = now
            return false
        }
        if (now - loop.idleSince < lingerMillis * 1_000_000) return false
        return synchronized(lock) {
            if (loop.channels > 0) {
                loop.idleSince = 0L
                false
            } else {
                val i = loops.indexOf(loop)
                if (i >= 0) loops[i] = null
                true
            }
        }
    }

    /** How many channels the loops serve now (for diagnostics and the invariant harness's leak check). */
    fun openChannels(): Int = synchronized(lock) { loops.sumOf { it?.channels ?: 0 } }

    fun failed(loop: EventLoop) {
        synchronized(lock) {
            val i = loops.indexOf(loop)
            if (i >= 0) loops[i] = null
        }
    }

    companion object {
        /** The shared group. */
        val shared: EventLoopGroup by lazy {
            val configured = System.getProperty("dev.tether.ioThreads")?.toIntOrNull()?.coerceIn(1, 64)
            EventLoopGroup(configured ?: Runtime.getRuntime().availableProcessors().coerceIn(1, 2), lingerMillis = 2000)
        }
    }
}
