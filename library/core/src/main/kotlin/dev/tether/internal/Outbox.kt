package dev.tether.internal

import dev.tether.BufferConfig
import dev.tether.Frame
import dev.tether.OverflowPolicy
import dev.tether.TetherException
import dev.tether.TetherException.SendFailure
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.SendChannel

/** A frame queued by [dev.tether.Connection.send], with the deferred its sender awaits. */
internal class Tracked(val frame: Frame) {
    val written = CompletableDeferred<Unit>()

    /** Set when the sender stopped waiting (cancelled) before the frame was taken: the writer skips it. */
    @Volatile
    var cancelled: Boolean = false

    fun fail(reason: SendFailure, detail: String = reason.name) {
        written.completeExceptionally(TetherException.SendFailed(frame, reason, detail))
    }
}

/**
 * The bounded buffer between senders and the socket writer, kept across reconnects (it is also the offline
 * outbox). Elements are [Frame]s (from [outgoing]) or [Tracked] frames (from send). The overflow policy is the
 * channel's own, and every drop reaches its sender: a [Tracked] fails, a plain frame goes to [onUntrackedDrop].
 */
internal class Outbox(private val config: BufferConfig, private val onUntrackedDrop: (Frame, SendFailure) -> Unit) {
    @Volatile
    private var closed = false

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

    /** The user-facing view. Erasure makes the cast safe: users can only put [Frame]s in. */
    @Suppress("UNCHECKED_CAST")
    val outgoing: SendChannel<Frame> get() = channel as SendChannel<Frame>

    /** Queues [item] following the policy; with FAIL (or [neverSuspend]) a full buffer fails it at once. */
    suspend fun enqueue(item: Tracked, neverSuspend: Boolean = false) {
        if (config.overflow == OverflowPolicy.FAIL || neverSuspend) {
            val r = channel.trySend(item)
            if (r.isClosed) item.fail(SendFailure.CLOSED) else if (r.isFailure) item.fail(SendFailure.BUFFER_FULL)
            return
        }
        try {
            channel.send(item)
        } catch (e: kotlinx.coroutines.channels.ClosedSendChannelException) {
            item.fail(SendFailure.CLOSED)
        }
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
        when (element) {
            is Tracked -> element.fail(reason)
            is Frame -> onUntrackedDrop(element, reason)
        }
    }
}
