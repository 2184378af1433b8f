package dev.tether.internal

import dev.tether.TetherException.SendFailure
import kotlinx.coroutines.withTimeoutOrNull
import java.util.PriorityQueue
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.time.Duration
import kotlin.time.TimeSource

/**
 * Fails frames that waited in the outbox past their time to live, at their deadline, with
 * [SendFailure.EXPIRED], unless the writer took them first ([Queued]). One coroutine per connection ([run], started
 * by [start] with the first frame that has a deadline) sleeps until the earliest deadline.
 */
internal class Expiry(
    private val timeSource: TimeSource.WithComparableMarks,
    private val start: () -> Unit,
    private val expired: (Queued) -> Unit,
) {
    private val queue = PriorityQueue<Queued>(compareBy { it.deadline })
    private val wake = Signal()
    private val started = AtomicBoolean()
    private var compactAt = COMPACT_AT

    /** [element] expires [ttl] from now unless the writer takes it first. */
    fun add(element: Queued, ttl: Duration) {
        element.deadline = timeSource.markNow() + ttl
        val earliest = synchronized(queue) {
            if (queue.size >= compactAt) { // frames the writer took leave the queue at their deadline: bound it sooner
                queue.removeIf { it.isTaken }
                compactAt = maxOf(COMPACT_AT, queue.size * 2)
            }
            queue.add(element)
            queue.peek() === element
        }
        if (started.compareAndSet(false, true)) start()
        if (earliest) wake.signal()
    }

    private companion object {
        const val COMPACT_AT = 4096
    }

    suspend fun run() {
        while (true) {
            val next = synchronized(queue) { queue.peek()?.deadline }
            if (next == null) {
                wake.await()
                continue
            }
            val left = -next.elapsedNow()
            if (left.isPositive()) {
                withTimeoutOrNull(left) { wake.await() } // an earlier deadline may arrive meanwhile
                continue
            }
            val due = synchronized(queue) {
                buildList { while (queue.peek()?.let { !(-it.deadline!!.elapsedNow()).isPositive() } == true) add(queue.poll()) }
            }
            for (e in due) if (e.expire()) expired(e)
        }
    }
}
