package dev.tether.internal.nio

import dev.tether.TetherException
import dev.tether.internal.RawFrame
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.suspendCancellableCoroutine
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference
import kotlin.coroutines.ContinuationInterceptor
import kotlin.coroutines.resume

/**
 * The hand-off of parsed frames from an event loop to the one reader coroutine of a connection: a lock-free queue the
 * loop adds to ([add], [fail]) and the reader takes from ([receive]). The loop wakes the reader only when it waits,
 * and the reader takes every frame queued so far before it waits again: one wake-up per batch of frames, not per
 * frame. When [highWater] frames wait, the loop stops reading ([stopReading]) until the reader is down to [lowWater]
 * ([requestResume]): memory stays bounded and TCP pushes back.
 *
 * Promises (model-checked by `FrameHandOffLincheckTest`): every frame added reaches the reader once, in order, then
 * the failure; a waiting reader is always woken by what comes; reading is never left stopped while the reader has
 * caught up. One adder (the loop) and one reader at a time.
 *
 * An abstract class, not a field: the session is the hand-off (no extra object per idle connection).
 */
@OptIn(ExperimentalCoroutinesApi::class) // resumeUndispatched
internal abstract class FrameHandOff(private val highWater: Int, private val lowWater: Int) {
    private val frames = ConcurrentLinkedQueue<RawFrame>()
    private val queued = AtomicInteger() // frames in [frames]
    private val waiter = AtomicReference<CancellableContinuation<Unit>?>()

    @Volatile
    private var failure: TetherException? = null
    private val paused = AtomicBoolean() // reading stopped because the reader is behind

    @Volatile
    private var readerDispatcher: CoroutineDispatcher? = null

    /** Loop thread: stop reading the socket (the reader is [highWater] frames behind). */
    protected abstract fun stopReading()

    /**
     * Any thread: ask the loop to read again. The loop then calls [unpause] and, when it returns true, reads again:
     * a request that crosses a later stop finds nothing to undo.
     */
    protected abstract fun requestResume()

    /** True on the loop thread that calls [add]: there, a waiting reader runs undispatched. */
    protected abstract val inLoop: Boolean

    /** Loop thread: queues [frame] for the reader and wakes it if it waits; stops reading when it is behind. */
    fun add(frame: RawFrame) {
        frames.add(frame)
        if (queued.incrementAndGet() >= highWater && paused.compareAndSet(false, true)) stopReading()
        wakeReader()
    }

    /** The end: the reader gets [e] once it has taken every frame queued before. The first failure wins. */
    fun fail(e: TetherException) {
        if (failure == null) failure = e
        wakeReader()
    }

    /** Loop thread, from [requestResume]: true when reading was stopped and must start again. */
    fun unpause(): Boolean = paused.compareAndSet(true, false)

    /** Loop thread: reading goes on whatever the reader's backlog (the session discards from now on). */
    fun forgetPause() = paused.set(false)

    /** How many frames wait for the reader. For tests. */
    val backlog: Int get() = queued.get()

    /** Whether the reader waits for a frame. For tests. */
    val readerWaits: Boolean get() = waiter.get() != null

    /**
     * Wakes the reader if it waits. On the loop thread it runs right here, undispatched, until it has taken every
     * frame and waits again: a frame reaches the connection with no thread hop. Resumed by anyone else, it runs on its
     * own dispatcher, so that wake-up costs the loop nothing.
     */
    private fun wakeReader() {
        val c = waiter.getAndSet(null) ?: return
        val d = readerDispatcher
        if (d != null && inLoop) with(c) { d.resumeUndispatched(Unit) } else c.resume(Unit)
    }

    /**
     * The next frame, on the reader's own dispatcher: it takes every frame already queued without suspending, so the
     * loop wakes it once per batch, not once per frame. Reading resumes (one hop to the loop) once the reader has
     * caught up to [lowWater]. Throws the failure once every frame before it was taken.
     */
    suspend fun receive(): RawFrame = poll() ?: receiveSuspending()

    /** The next queued frame, if there is one; asks to read again when the reader has caught up. */
    private fun poll(): RawFrame? {
        val f = frames.poll() ?: return null
        if (queued.decrementAndGet() <= lowWater) resumeReadingIfPaused()
        return f
    }

    private suspend fun receiveSuspending(): RawFrame {
        while (true) {
            poll()?.let { return it }
            failure?.let { e ->
                // the loop adds its last frames before it fails: seen the failure, look once more for them
                poll()?.let { return it }
                throw e
            }
            if (readerDispatcher == null) readerDispatcher = currentCoroutineContext()[ContinuationInterceptor] as? CoroutineDispatcher
            suspendCancellableCoroutine { c ->
                waiter.set(c)
                // a frame (or the end) may have come between the poll and the set: then whoever clears it resumes
                if ((!frames.isEmpty() || failure != null) && waiter.compareAndSet(c, null)) c.resume(Unit)
                // The loop may have stopped reading just as the queue ran dry (it counted a frame this reader then
                // took, and stopped after the reader's last look): nothing would ever wake it. Looked at after the
                // waiter is set, a stop is seen here or the loop's wake-up after it finds the waiter.
                resumeReadingIfPaused()
                c.invokeOnCancellation { waiter.compareAndSet(c, null) }
            }
        }
    }

    private fun resumeReadingIfPaused() {
        if (paused.get()) requestResume()
    }
}
