package dev.tether.internal

import java.util.concurrent.atomic.AtomicInteger

/**
 * The outbox's depth (frames queued, not yet written), with a word when it crosses a level: [crossed] is called
 * with the new depth when it rises to half the outgoing buffer, to the full buffer, or to twice it, and when it falls
 * back to 0 after having risen to one of them. Costs one compare per change besides the atomic; any thread.
 */
internal class Depth(capacity: Int, private val crossed: (Int) -> Unit) {
    private val n = AtomicInteger()
    private val levels = intArrayOf(maxOf(1, capacity / 2), capacity, capacity * 2).distinct().filter { it > 0 }.toIntArray()

    @Volatile
    private var raised = false

    fun get(): Int = n.get()

    fun incrementAndGet(): Int {
        val v = n.incrementAndGet()
        if (v >= levels[0] && v in levels) {
            raised = true
            crossed(v)
        }
        return v
    }

    fun decrementAndGet(): Int {
        val v = n.decrementAndGet()
        if (v == 0 && raised) {
            raised = false
            crossed(0)
        }
        return v
    }
}
