package dev.tether.internal

import dev.tether.BufferConfig
import dev.tether.CloseCodes
import dev.tether.ConnectionEvent
import dev.tether.Frame
import dev.tether.OverflowPolicy
import dev.tether.TetherException
import dev.tether.TetherException.SendFailure
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.ChannelResult
import kotlinx.coroutines.channels.ClosedSendChannelException
import kotlinx.coroutines.channels.SendChannel
import kotlinx.coroutines.selects.SelectClause2
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater
import kotlin.time.ComparableTimeMark

/**
 * What every queued element shares: whether the writer has taken it or its time to live ran out first. Exactly one
 * of the two wins ([take] / [expire]), so a frame is never both written and reported expired.
 */
internal abstract class Queued {
    private val state = AtomicInteger() // 0 waiting, 1 taken by the writer, 2 expired

    /** When its time to live runs out, or null for never. */
    @Volatile
    var deadline: ComparableTimeMark? = null

    /**
     * The writer takes it: [TAKEN] (write it), [EXPIRED_NOW] (its deadline has passed: it expires now, and the
     * writer reports it) or [EXPIRED_BEFORE] (it expired earlier and was reported then).
     */
    fun take(): Int {
        val d = deadline
        if (d != null && state.get() == 0 && !(-d.elapsedNow()).isPositive()) {
            if (state.compareAndSet(0, 2)) return EXPIRED_NOW
        }
        return if (state.compareAndSet(0, 1) || state.get() == 1) TAKEN else EXPIRED_BEFORE
    }

    val isTaken: Boolean get() = state.get() == 1

    /** Its time to live ran out; false if the writer took it first. */
    fun expire(): Boolean = state.compareAndSet(0, 2)

    val isExpired: Boolean get() = state.get() == 2

    /** 1 once counted out of the outbox's in-flight count ([countOut]). A public field, for [COUNTED_OUT]. */
    @JvmField
    @Volatile
    var countedOut: Int = 0

    /**
     * True the first time only: each element leaves [Outbox.inFlight] once, whoever reports it first (the writer, a
     * drop, the channel's `onUndeliveredElement` for a send cancelled while it waited for room, the sender's own
     * failure path). Counting one out twice let a direct write overtake a frame still queued (harness seed 20059).
     */
    fun countOut(): Boolean = COUNTED_OUT.compareAndSet(this, 0, 1)

    companion object {
        private val COUNTED_OUT = AtomicIntegerFieldUpdater.newUpdater(Queued::class.java, "countedOut")
        const val TAKEN = 0
        const val EXPIRED_NOW = 1
        const val EXPIRED_BEFORE = 2
    }
}

/** A frame queued by [dev.tether.Connection.send], with the deferred its sender awaits. */
internal class Tracked(val frame: Frame, private val events: ConnectionEvents? = null) : Queued() {
    val written = CompletableDeferred<Unit>()

    /** Set when the sender stopped waiting (cancelled) before the frame was taken: the writer skips it. */
    @Volatile
    var cancelled: Boolean = false
        get() = field || written.isCancelled

    fun fail(reason: SendFailure, detail: String = reason.name) {
        if (written.completeExceptionally(TetherException.SendFailed(frame, reason, detail))) {
            events?.emit { ConnectionEvent.SendFailed(it, reason) }
        }
    }
}

/** A frame from [Outbox.outgoing]'s send or trySend: counted in [Outbox.inFlight] like a [Tracked] one. */
internal class Counted(val frame: Frame) : Queued()

/**
 * The bounded buffer between senders and the socket writer, kept across reconnects (it is also the offline
 * outbox). Elements are [Frame]s (from [outgoing]) or [Tracked] frames (from send). The overflow policy is the
 * channel's own, and every drop reaches its sender: a [Tracked] fails, a plain frame goes to [onUntrackedDrop].
 */
internal class Outbox(
    private val config: BufferConfig,
    /** Registers a queued element for expiry when a time to live applies (see [Expiry]). */
    private val expiring: (Queued) -> Unit = {},
    private val onUntrackedDrop: (Frame, SendFailure) -> Unit,
    private val onUserClose: (code: Int, reason: String) -> Unit = { _, _ -> },
    /** Starts [runOverflow]; called once, when a frame first has to wait in the overflow. */
    private val startOverflow: () -> Unit = {},
    /** Told when [inFlight] crosses a level (see [Depth]). */
    depthCrossed: (Int) -> Unit = {},
) {
    private val overflowStarted = AtomicBoolean()

    @Volatile
    private var closed = false

    /** Set once `outgoing.onSend` was used: direct writes are off from then on (see [outgoing]). */
    @Volatile
    var selectUsed: Boolean = false
        private set

    /**
     * Counted elements queued or taken but not yet written or dropped. While it is 0 nothing sent earlier is
     * waiting, so a send may be written at once from the caller (see [SessionRunner.tryWriteNow]) without
     * overtaking an earlier frame. Frames put through `outgoing.onSend` in a select are not counted: once that clause
     * was used, direct writes stay off ([selectUsed]).
     */
    val inFlight: Depth = Depth(config.capacity, depthCrossed)

    private val dropReason = when (config.overflow) {
        OverflowPolicy.DROP_OLDEST -> SendFailure.DROPPED_OLDEST
        OverflowPolicy.DROP_NEWEST -> SendFailure.DROPPED_NEWEST
        else -> SendFailure.CONNECTION_LOST
    }

    /**
     * DROP_NEWEST is done here, not by the channel: a channel with `BufferOverflow.DROP_LATEST` discards the new
     * element without calling `onUndeliveredElement`, so its sender would never be told (and it would stay counted
     * in [inFlight] for ever).
     */
    private val dropNewest = config.overflow == OverflowPolicy.DROP_NEWEST

    val channel: Channel<Any> = Channel(
        capacity = config.capacity,
        onBufferOverflow = if (config.overflow == OverflowPolicy.DROP_OLDEST) BufferOverflow.DROP_OLDEST else BufferOverflow.SUSPEND,
        onUndeliveredElement = { dropped(it, if (closed) SendFailure.CLOSED else dropReason) },
    )

    /**
     * With DROP_NEWEST: queues [element] (already counted) if there is room, else drops it as the newest. Returns
     * the channel's result when it is closed (the caller handles that), else success.
     */
    private fun offerOrDropNewest(element: Any): ChannelResult<Unit> {
        val r = channel.trySend(element)
        if (r.isFailure && !r.isClosed) {
            dropped(element, SendFailure.DROPPED_NEWEST)
            return SUCCESS
        }
        return r
    }

    /** The user-facing view: send and trySend count what they queue. */
    @Suppress("UNCHECKED_CAST")
    val outgoing: SendChannel<Frame> = object : SendChannel<Frame> by (channel as SendChannel<Frame>) {
        override suspend fun send(element: Frame) {
            if (element is Frame.Close) return onUserClose(element.code, element.reason) // in every state
            inFlight.incrementAndGet()
            val counted = Counted(element)
            try {
                expiring(counted)
                if (queuedBehindOverflow(counted)) return
                if (dropNewest) {
                    val r = offerOrDropNewest(counted)
                    if (r.isClosed) throw r.exceptionOrNull() ?: ClosedSendChannelException("the outbox is closed")
                } else {
                    channel.send(counted)
                }
            } catch (e: CancellationException) {
                throw e // queued after all (the writer counts it out) or not (the channel's onUndeliveredElement did)
            } catch (e: Throwable) {
                finished(counted)
                throw e
            }
        }

        /**
         * A frame put through `onSend` in a select reaches the channel uncounted (the clause cannot be wrapped), so a
         * later direct write could overtake it. Reading this clause therefore turns direct writes off for good on
         * this connection: every frame then goes through the channel, first in, first out, and per-sender order
         * holds on every send path.
         */
        override val onSend: SelectClause2<Frame, SendChannel<Frame>>
            get() {
                selectUsed = true
                @Suppress("UNCHECKED_CAST")
                return (channel as SendChannel<Frame>).onSend
            }

        override fun trySend(element: Frame): ChannelResult<Unit> {
            if (element is Frame.Close) {
                onUserClose(element.code, element.reason)
                return SUCCESS
            }
            inFlight.incrementAndGet()
            val counted = Counted(element).also(expiring)
            return (if (dropNewest) offerOrDropNewest(counted) else channel.trySend(counted)).also { if (it.isFailure) finished(counted) }
        }

        /**
         * Closing `outgoing` closes the client gracefully, as a [Frame.Close] sent on it does: what is queued is
         * written first. The channel itself stays open until the client has ended, so the writer never fails on it.
         */
        override fun close(cause: Throwable?): Boolean {
            onUserClose(CloseCodes.NORMAL, "")
            return true
        }
    }

    /** Queues [item] following the policy; with FAIL a full buffer fails it at once. */
    suspend fun enqueue(item: Tracked) {
        inFlight.incrementAndGet()
        if (config.overflow == OverflowPolicy.FAIL || dropNewest) {
            val r = channel.trySend(item)
            if (r.isFailure) finished(item)
            if (r.isClosed) item.fail(SendFailure.CLOSED)
            else if (r.isFailure) item.fail(if (dropNewest) SendFailure.DROPPED_NEWEST else SendFailure.BUFFER_FULL)
            return
        }
        if (queuedBehindOverflow(item)) return
        try {
            channel.send(item)
        } catch (e: ClosedSendChannelException) {
            finished(item)
            item.fail(SendFailure.CLOSED)
        } catch (e: CancellationException) {
            throw e // queued after all (the writer counts it out) or not (the channel's onUndeliveredElement did)
        } catch (e: Throwable) {
            finished(item)
            throw e
        }
    }

    private val overflow = ArrayDeque<Queued>(0)

    /** [overflow]'s size, written under its lock, read without it. */
    @Volatile
    private var overflowSize = 0

    /**
     * A suspending send (SUSPEND policy) made while frames from [enqueueNow] wait in the overflow goes behind them,
     * into the overflow too: sending to the channel directly, it could be queued before an earlier frame of the same
     * sender still waiting there. True if [item] (already counted) went there (or failed: the overflow is full).
     */
    private fun queuedBehindOverflow(item: Queued): Boolean {
        if (overflowSize == 0) return false // the common case, without the lock
        synchronized(overflow) {
            if (overflow.isEmpty()) return false
            if (overflow.size >= OVERFLOW) {
                dropped(item, SendFailure.BUFFER_FULL)
                return true
            }
            overflow.addLast(item)
            overflowSize = overflow.size
        }
        overflowWork.signal()
        return true
    }
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
                    finished(item)
                    item.fail(SendFailure.CLOSED)
                    return
                }
                if (config.overflow != OverflowPolicy.SUSPEND) { // FAIL or DROP_NEWEST (DROP_OLDEST never fails a trySend)
                    finished(item)
                    item.fail(if (dropNewest) SendFailure.DROPPED_NEWEST else SendFailure.BUFFER_FULL)
                    return
                }
            }
            if (overflow.size >= OVERFLOW) {
                finished(item)
                item.fail(SendFailure.BUFFER_FULL, "more than $OVERFLOW frames wait for room in the outgoing buffer")
                return
            }
            overflow.addLast(item)
            overflowSize = overflow.size
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
                } catch (e: ClosedSendChannelException) {
                    failOverflow()
                    return
                }
                synchronized(overflow) {
                    overflow.removeFirst()
                    overflowSize = overflow.size
                }
            }
        }
    }

    /** Fails what waits in the overflow (the client ended). */
    fun failOverflow() {
        while (true) {
            val t = synchronized(overflow) { overflow.removeFirstOrNull().also { overflowSize = overflow.size } } ?: return
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
        if (element is Queued && element.countOut()) inFlight.decrementAndGet()
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

    /** [element] outlived its time to live in the queue: its sender is told (a plain frame via `onError`). */
    fun expired(element: Queued) {
        when (element) {
            is Tracked -> element.fail(SendFailure.EXPIRED, "waited in the outbox past its time to live")
            is Counted -> onUntrackedDrop(element.frame, SendFailure.EXPIRED)
        }
    }

    fun dropped(element: Any, reason: SendFailure) {
        finished(element)
        if ((element as? Queued)?.isExpired == true) return // its sender was told when it expired
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
