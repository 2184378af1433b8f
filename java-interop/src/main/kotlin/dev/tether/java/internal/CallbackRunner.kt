package dev.tether.java.internal

import kotlinx.coroutines.suspendCancellableCoroutine
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.Executor
import kotlinx.coroutines.asExecutor
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException

/**
 * Runs a connection's listener calls on the caller's executor, one at a time and in order: calls queue here and one
 * executor task runs every call queued so far (one hop per batch, not per call). It is also the dispatcher of the
 * connection's hooks (as an [Executor]), so the core's hook coroutine and the facade's own calls share one queue.
 */
internal class CallbackRunner(private val executor: Executor) : Executor {
    private val queue = ConcurrentLinkedQueue<Runnable>()
    private val scheduled = AtomicBoolean()
    private val drain = Runnable { drain() }

    /** True on the thread while it runs one of this runner's calls. */
    val isCurrentThreadInside: Boolean get() = CURRENT.get() === this

    override fun execute(command: Runnable) {
        post(command)
    }

    fun post(block: Runnable) {
        queue.add(block)
        schedule()
    }

    /** Runs [block] in the queue and suspends until it has run; its result or exception comes back. */
    suspend fun <T> call(block: () -> T): T = suspendCancellableCoroutine { cont ->
        post {
            try {
                cont.resume(block())
            } catch (e: Throwable) {
                cont.resumeWithException(e)
            }
        }
    }

    /** Set once the caller's executor refused work (shut down before the connection was closed). */
    @Volatile
    private var refused = false

    private fun schedule() {
        if (!scheduled.compareAndSet(false, true)) return
        if (refused) return FALLBACK.execute(drain)
        try {
            executor.execute(drain)
        } catch (e: java.util.concurrent.RejectedExecutionException) {
            // Nothing may hang or be lost because of it (a connection waits for onOpen before it writes): the calls
            // go on, in order, on Tether's shared pool, and the user is told once.
            refused = true
            org.slf4j.LoggerFactory.getLogger("dev.tether.java").warn(
                "the callback executor refused work (is it shut down?): listener calls run on Tether's shared pool from now on",
            )
            FALLBACK.execute(drain)
        }
    }

    private fun drain() {
        // An executor that runs tasks in the caller (Runnable::run) would run listener code on whichever thread
        // woke the hooks, possibly one of Tether's I/O threads ("tether-io-N"): move that work off it.
        if (Thread.currentThread().name.startsWith(IO_THREAD_PREFIX)) {
            kotlinx.coroutines.Dispatchers.Default.asExecutor().execute(drain)
            return
        }
        val previous = CURRENT.get()
        CURRENT.set(this)
        try {
            while (true) {
                val r = queue.poll() ?: break
                try {
                    r.run()
                } catch (e: Exception) {
                    org.slf4j.LoggerFactory.getLogger("dev.tether.java").warn("a listener call threw", e) // never stops the queue
                }
            }
        } finally {
            CURRENT.set(previous)
            scheduled.set(false)
        }
        if (!queue.isEmpty()) schedule() // posted after the last poll and before the flag was cleared
    }

    private companion object {
        val CURRENT = ThreadLocal<CallbackRunner?>()

        /** Where calls go once the caller's executor has refused work. */
        val FALLBACK: Executor = kotlinx.coroutines.Dispatchers.Default.asExecutor()

        /** The name Tether's own engine gives its I/O threads (see docs/architecture.md). */
        const val IO_THREAD_PREFIX = "tether-io-"
    }
}
