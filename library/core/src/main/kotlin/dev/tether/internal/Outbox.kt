package dev.tether.internal

import dev.tether.BufferConfig
import dev.tether.Frame
import dev.tether.OverflowPolicy
import dev.tether.TetherException
import dev.tether.TetherException.SendFailure
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.ChannelResult
import kotlinx.coroutines.channels.SendChannel
import java.util.concurrent.atomic.AtomicInteger

/** A frame queued by [dev.tether.Connection.send], with the deferred its sender awaits. */
internal class Tracked(val frame: Frame) {
    val written = CompletableDeferred<Unit>()

    /** Set when the sender stopped waiting (cancelled) before the frame was taken: the writer skips it. */
    @Volatile
    var cancelled: Boolean = false
        get() = field || written.isCancelled

    fun fail(reason: SendFailure, detail: String = reason.name) {
        written.completeExceptionally(TetherException.SendFailed(frame, reason, detail))
    }
}

/** A frame from [Outbox.outgoing]'s send or trySend: counted in [Outbox.inFlight] like a [Tracked] one. */
internal class Counted(val frame: Frame)

/**
 * The bounded buffer between senders and the socket writer, kept across reconnects (it is also the offline
 * outbox). Elements are [Frame]s (from [outgoing]) or [Tracked] frames (from send). The overflow policy is the
 * channel's own, and every drop reaches its sender: a [Tracked] fails, a plain frame goes to [onUntrackedDrop].
 */
internal class Outbox(
    private val config: BufferConfig,
    private val onUntrackedDrop: (Frame, SendFailure) -> Unit,
    private val onUserClose: (code: Int, reason: String) -> Unit = { _, _ -> },
    /** Starts [runOverflow]; called once, when a frame first has to wait in the overflow. */
    private val startOverflow: () -> Unit = {},
) {
    private val overflowStarted = java.util.concurrent.atomic.AtomicBoolean()

    @Volatile
    private var closed = false

    /**
     * Counted elements queued or taken but not yet written or dropped. While it is 0 nothing sent earlier is
     * waiting, so a send may be written at once from the caller (see [SessionRunner.tryWriteNow]) without
     * overtaking an earlier frame. Frames put through `outgoing.onSend` in a select are not counted.
     */
    val inFlight: AtomicInteger = AtomicInteger()

    private val dropReason = when (config.overflow) {
        OverflowPolicy.DROP_OLDEST -> SendFailure.DROPPED_OLDEST
        OverflowPolicy.DROP_NEWEST -> SendFailure.DROPPED_NEWEST
        else -> SendFailure.CONNECTION_LOST
    }

    val channel: Channel<Any> = Channel(
        capacity = config.capacity,
        onBufferOverflow = when (config.overflow) {
            OverflowPolicy.DROP_OLDEST -> BufferOverflow.DROP_OLDEST
            OverflowPolicy.DROP_NEWEST -> BufferOverflow.DROP_LATEST
            else -> BufferOverflow.SUSPEND
        },
        onUndeliveredElement = { dropped(it, if (closed) SendFailure.CLOSED else dropReason) },
    )

    /** The user-facing view: send and trySend count what they queue. */
    @Suppress("UNCHECKED_CAST")
    val outgoing: SendChannel<Frame> = object : SendChannel<Frame> by (channel as SendChannel<Frame>) {
        override suspend fun send(element: Frame) {
            if (element is Frame.Close) return onUserClose(element.code, element.reason) // in every state
            inFlight.incrementAndGet()
            try {
                channel.send(Counted(element))
            } catch (e: Throwable) {
                inFlight.decrementAndGet()
                throw e
            }
        }

        override fun trySend(element: Frame): ChannelResult<Unit> {
            if (element is Frame.Close) {
                onUserClose(element.code, element.reason)
                return SUCCESS
            }
            inFlight.incrementAndGet()
            return channel.trySend(Counted(element)).also { if (it.isFailure) inFlight.decrementAndGet() }
        }

        /**
         * Closing `outgoing` closes the client gracefully, as a [Frame.Close] sent on it does: what is queued is
         * written first. The channel itself stays open until the client has ended, so the writer never fails on it.
         */
        override fun close(cause: Throwable?): Boolean {
            onUserClose(dev.tether.CloseCodes.NORMAL, "")
            return true
        }
    }

    /** Queues [item] following the policy; with FAIL (or [neverSuspend]) a full buffer fails it at once. */
    suspend fun enqueue(item: Tracked, neverSuspend: Boolean = false) {
        inFlight.incrementAndGet()
        if (config.overflow == OverflowPolicy.FAIL || neverSuspend) {
            val r = channel.trySend(item)
            if (r.isFailure) inFlight.decrementAndGet()
            if (r.isClosed) item.fail(SendFailure.CLOSED) else if (r.isFailure) item.fail(SendFailure.BUFFER_FULL)
            return
        }
        try {
            channel.send(item)
        } catch (e: kotlinx.coroutines.channels.ClosedSendChannelException) {
            inFlight.decrementAndGet()
            item.fail(SendFailure.CLOSED)
        } catch (e: Throwable) {
            inFlight.decrementAndGet()
            throw e
        }
    }

    private val overflow = ArrayDeque<Tracked>(0)
    private val overflowWork = Signal()

    /**
     * Queues [item] without suspending, for callers outside coroutines ([dev.tether.Connection.enqueue]): in call
     * order per thread. With SUSPEND, frames that find the buffer full wait, in order, in an overflow of at most
     * [OVERFLOW] frames that [runOverflow] moves on as room frees (past that they fail with BUFFER_FULL); the other
     * policies behave as for `send`.
     */
    fun enqueueNow(item: Tracked) {
        inFlight.incrementAndGet()
        synchronized(overflow) {
            if (overflow.isEmpty()) {
                val r = channel.trySend(item)
                if (r.isSuccess) return
                if (r.isClosed || closed) {
                    inFlight.decrementAndGet()
                    item.fail(SendFailure.CLOSED)
                    return
                }
                if (config.overflow != OverflowPolicy.SUSPEND) { // FAIL (DROP_* never fail a trySend)
                    inFlight.decrementAndGet()
                    item.fail(SendFailure.BUFFER_FULL)
                    return
                }
            }
            if (overflow.size >= OVERFLOW) {
                inFlight.decrementAndGet()
                item.fail(SendFailure.BUFFER_FULL, "more than $OVERFLOW frames wait for room in the outgoing buffer")
                return
            }
            overflow.addLast(item)
        }
        if (overflowStarted.compareAndSet(false, true)) startOverflow()
        overflowWork.signal()
    }

    /** Moves overflow frames into the buffer as room frees, in order; runs for as long as the connection. */
    suspend fun runOverflow() {
        while (true) {
            overflowWork.await()
            while (true) {
                val head = synchronized(overflow) { overflow.firstOrNull() } ?: break
                try {
                    channel.send(head)
                } catch (e: kotlinx.coroutines.channels.ClosedSendChannelException) {
                    failOverflow()
                    return
                }
                synchronized(overflow) { overflow.removeFirst() }
            }
        }
    }

    /** Fails what waits in the overflow (the client ended). */
    fun failOverflow() {
        while (true) {
            val t = synchronized(overflow) { overflow.removeFirstOrNull() } ?: return
            dropped(t, SendFailure.CLOSED)
        }
    }

    /** The frame an element carries. */
    fun frameOf(element: Any): Frame = when (element) {
        is Tracked -> element.frame
        is Counted -> element.frame
        else -> element as Frame
    }

    /** The writer is done with [element] (written, skipped or dropped). */
    fun finished(element: Any) {
        if (element is Tracked || element is Counted) inFlight.decrementAndGet()
    }

    /** Fails everything still queued with [reason] (used when the client ends, and by the REJECT offline policy). */
    fun failQueued(reason: SendFailure) {
        while (true) {
            val e = channel.tryReceive().getOrNull() ?: return
            dropped(e, reason)
        }
    }

    /** Closes for good; what is still queued fails with CLOSED. */
    fun close() {
        closed = true
        channel.close()
        failQueued(SendFailure.CLOSED)
    }

    fun dropped(element: Any, reason: SendFailure) {
        finished(element)
        when (element) {
            is Tracked -> element.fail(reason)
            is Counted -> onUntrackedDrop(element.frame, reason)
            is Frame -> onUntrackedDrop(element, reason)
        }
    }
}

/** The most frames [Outbox.enqueueNow] lets wait beyond a full buffer. */
private const val OVERFLOW = 65_536

/** A successful [ChannelResult] (its factory is internal to kotlinx.coroutines). */
private val SUCCESS: ChannelResult<Unit> = Channel<Unit>(Channel.CONFLATED).trySend(Unit)
