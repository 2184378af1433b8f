package dev.tether.internal

import dev.tether.Frame
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong

/**
 * The read-ahead between the socket reader and the application: it keeps the reader reading (pongs, close frames)
 * while the application is slow. A message goes straight to the application ([tryDeliver]) when nothing is waiting
 * before it; otherwise it waits here, in order, and the delivery coroutine ([run]) hands it on with [deliver], which
 * may suspend as long as the application needs. The read-ahead is bounded by [maxFrames] and [maxBytes] (one message
 * always fits); past that the reader waits ([stalled]) and, while the client is closing ([dropWhenFull]), drops and
 * reports instead of waiting.
 */
internal class Inbox(
    /** Offered every message first, in order, on the reader (the builder's `inboundTap`); true when it took it. */
    private val tap: ((Frame) -> Boolean)?,
    private val tryDeliver: (Frame) -> Boolean,
    private val deliver: suspend (Frame) -> Unit,
    private val dropped: (Frame) -> Unit,
    private val maxFrames: Int,
    private val maxBytes: Long,
    /** Starts the delivery coroutine ([run]); called once, when the first message has to wait here. */
    private val startDelivery: () -> Unit,
) {
    private val deliveryStarted = AtomicBoolean()

    private val queue = ConcurrentLinkedQueue<Frame>()

    /** Messages in [queue] or being delivered; decremented only after delivery, so the fast path keeps order. */
    private val pending = AtomicInteger()

    /** Messages read from the socket that wait here because the application's buffer is full. */
    val backlog: Int get() = pending.get()
    private val bytes = AtomicLong()
    private val work = Signal()
    private val room = Signal()
    private val _stalled = MutableStateFlow(false)

    /** True while the reader waits for room: it is not reading the socket because the application is behind. */
    val stalled: StateFlow<Boolean> get() = _stalled

    /** How many times the reader has had to wait; the keepalive compares it to know it waited meanwhile. */
    @Volatile
    var stalls: Long = 0
        private set

    /** Set once the client is closing: a full read-ahead drops (and reports) instead of stopping the reader. */
    @Volatile
    var dropWhenFull: Boolean = false
        set(value) {
            field = value
            room.signal()
        }

    /** Reader: hands [frame] on in order; suspends only when the read-ahead is full. */
    suspend fun put(frame: Frame) {
        if (tap != null && tap(frame)) return
        if (pending.get() == 0 && tryDeliver(frame)) return
        val size = sizeOf(frame)
        while (pending.get() > 0 && (pending.get() >= maxFrames || bytes.get() + size > maxBytes)) {
            if (dropWhenFull) {
                dropped(frame)
                return
            }
            stalls++
            _stalled.value = true
            try {
                room.await()
            } finally {
                _stalled.value = false
            }
        }
        bytes.addAndGet(size)
        pending.incrementAndGet()
        queue.add(frame)
        if (deliveryStarted.compareAndSet(false, true)) startDelivery() // only connections that ever fall behind pay
        work.signal()
    }

    /** The delivery coroutine: hands queued messages on, in order, for as long as the connection lives. */
    suspend fun run() {
        while (true) {
            work.await()
            while (true) {
                val f = queue.peek() ?: break
                deliver(f)
                queue.poll()
                bytes.addAndGet(-sizeOf(f))
                pending.decrementAndGet()
                room.signal()
            }
        }
    }

    /** At the end (delivery stopped): what is still queued goes on if there is room without waiting, else is dropped. */
    fun flushRemaining() {
        while (true) {
            val f = queue.poll() ?: return
            pending.decrementAndGet()
            if (!tryDeliver(f)) dropped(f)
        }
    }

    private fun sizeOf(f: Frame): Long = when (f) {
        is Frame.Text -> f.text.length.toLong()
        is Frame.Binary -> f.size.toLong()
        else -> 0L
    }
}
