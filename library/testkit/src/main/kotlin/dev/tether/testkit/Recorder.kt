package dev.tether.testkit

import java.time.Duration
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.function.Predicate

/**
 * Records what a client sees (frames, state changes, errors: anything) and lets a test await it in order, in the
 * spirit of Turbine and OkHttp's WebSocketRecorder. Feed it from a hook, a listener or a flow collector;
 * each [awaitItem] takes the next item; [assertExhausted] checks nothing unexpected is left.
 *
 * ```kotlin
 * val states = Recorder<ConnectionState>()
 * scope.launch { connection.state.collect(states::record) }
 * states.awaitItem(Duration.ofSeconds(5))
 * ```
 * Thread-safe.
 */
public class Recorder<T : Any> {
    private val queue = LinkedBlockingQueue<T>()
    private val all = java.util.Collections.synchronizedList(ArrayList<T>())

    /** Records [item]; safe to call from any thread. */
    public fun record(item: T) {
        all.add(item)
        queue.add(item)
    }

    /** Everything recorded so far, taken or not. */
    public val items: List<T> get() = synchronized(all) { all.toList() }

    /**
     * The next item not yet taken, waiting up to [timeout].
     * @throws AssertionError if none arrives in time.
     */
    public fun awaitItem(timeout: Duration): T =
        queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS) ?: throw AssertionError("no item within $timeout; recorded: $items")

    /**
     * Takes items until one matches [predicate] and returns it, waiting up to [timeout] in all; the items skipped
     * are returned by [items] only.
     * @throws AssertionError if none matches in time.
     */
    public fun awaitItem(timeout: Duration, predicate: Predicate<T>): T {
        val deadline = System.nanoTime() + timeout.toNanos()
        while (true) {
            val left = deadline - System.nanoTime()
            val item = (if (left > 0) queue.poll(left, TimeUnit.NANOSECONDS) else null)
                ?: throw AssertionError("no matching item within $timeout; recorded: $items")
            if (predicate.test(item)) return item
        }
    }

    /** Asserts that nothing arrives within [window] (real time). */
    public fun expectNoItem(window: Duration) {
        queue.poll(window.toNanos(), TimeUnit.NANOSECONDS)?.let { throw AssertionError("unexpected item: $it") }
    }

    /** Asserts that every recorded item was taken. */
    public fun assertExhausted() {
        if (queue.isNotEmpty()) throw AssertionError("unexpected items left: ${queue.toList()}")
    }
}
