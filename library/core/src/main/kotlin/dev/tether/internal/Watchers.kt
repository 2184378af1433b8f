package dev.tether.internal

import dev.tether.Connection
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeoutOrNull
import java.util.concurrent.atomic.AtomicInteger
import kotlin.coroutines.CoroutineContext
import kotlin.time.Duration

/**
 * The `watch { }` coroutines of one connection (`tether-watcher`), under a job of their own (a child of the caller's
 * scope's job, if it has one), on `Dispatchers.Default` through a dispatcher that counts the watcher tasks queued or
 * running. When the connection has closed, [end] lets them run until they are idle, that is until every one has
 * handled what was ready for it (the `Closed` event and state included) and waits for more, or until the close
 * deadline, whichever comes first; then it cancels them. A watcher that collects `events` for ever therefore never
 * holds a close, and one that is still working gets until the deadline.
 */
internal class Watchers(private val log: TetherLog) {
    private val running = AtomicInteger()
    private val idle = Signal()
    private var job: Job? = null

    private val dispatcher = object : CoroutineDispatcher() {
        override fun dispatch(context: CoroutineContext, block: Runnable) {
            running.incrementAndGet()
            Dispatchers.Default.dispatch(context) {
                try {
                    block.run()
                } finally {
                    if (running.decrementAndGet() == 0) idle.signal()
                }
            }
        }

        override fun toString(): String = "tether-watchers"
    }

    /** Starts each of [watchers] undispatched (it subscribes before the connection's first attempt). */
    fun start(scope: CoroutineScope, connection: Connection, watchers: List<suspend (Connection) -> Unit>) {
        if (watchers.isEmpty()) return
        val job = SupervisorJob(scope.coroutineContext[Job])
        this.job = job
        val watchScope = CoroutineScope(job + dispatcher + CoroutineNames.WATCHER)
        for (watcher in watchers) {
            watchScope.launch(start = CoroutineStart.UNDISPATCHED) {
                try {
                    watcher(connection)
                } catch (e: CancellationException) {
                    throw e
                } catch (e: Exception) {
                    log.error("a watcher threw", e)
                }
            }
        }
    }

    /** After `Closed` was told: waits until the watchers are done or idle, at most [budget], then cancels them. */
    suspend fun end(budget: Duration) {
        val job = job ?: return
        withTimeoutOrNull(budget) {
            while (running.get() > 0 && job.children.any { it.isActive }) idle.await()
        }
        job.cancel()
    }
}
