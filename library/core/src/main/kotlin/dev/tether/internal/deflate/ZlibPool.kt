package dev.tether.internal.deflate

import java.util.concurrent.ArrayBlockingQueue
import java.util.concurrent.atomic.AtomicInteger
import java.util.zip.Deflater
import java.util.zip.Inflater

/**
 * Zlib state shared across connections. A JDK [Deflater] holds about 256 KiB of native memory and an [Inflater]
 * about 40 KiB, freed only by `end()` (or, late, by a cleaner): connections borrow them at their first compressed
 * message and give them back when they end (or, without context takeover, after each message). At most [CAPACITY]
 * of each wait here, reset; the rest are ended at once, so reconnecting never grows native memory. Thread-safe.
 */
internal object ZlibPool {
    const val CAPACITY: Int = 8

    private val deflaters = ArrayBlockingQueue<Deflater>(CAPACITY)
    private val inflaters = ArrayBlockingQueue<Inflater>(CAPACITY)
    private val liveDeflaters = AtomicInteger()
    private val liveInflaters = AtomicInteger()

    /** Deflaters not ended: lent out or waiting in the pool. */
    val deflatersAlive: Int get() = liveDeflaters.get()

    /** Inflaters not ended: lent out or waiting in the pool. */
    val inflatersAlive: Int get() = liveInflaters.get()

    /** A raw (no zlib header) deflater at [level], fresh or reset. */
    fun deflater(level: Int): Deflater {
        val d = deflaters.poll() ?: Deflater(level, true).also { liveDeflaters.incrementAndGet() }
        d.setLevel(level)
        return d
    }

    /** A raw inflater, fresh or reset. */
    fun inflater(): Inflater = inflaters.poll() ?: Inflater(true).also { liveInflaters.incrementAndGet() }

    /** Takes [d] back: reset and pooled, or ended when the pool is full. Call once per borrowed deflater. */
    fun release(d: Deflater) {
        d.reset()
        if (!deflaters.offer(d)) {
            d.end()
            liveDeflaters.decrementAndGet()
        }
    }

    /** Takes [i] back: reset and pooled, or ended when the pool is full. Call once per borrowed inflater. */
    fun release(i: Inflater) {
        i.reset()
        if (!inflaters.offer(i)) {
            i.end()
            liveInflaters.decrementAndGet()
        }
    }
}
