package dev.tether.internal

import dev.tether.Frame
import dev.tether.TetherException
import dev.tether.TetherException.SendFailure
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeoutOrNull
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater
import kotlin.time.Duration.Companion.milliseconds

/**
 * The fast path of a send on a live, idle connection: the frame is handed to the socket from the sender's own thread
 * and coroutine, with no hop through the writer. Allowed only when nothing sent earlier is still queued in the
 * [outbox] (per-sender order), `onConnect` has returned (its frames go first) and the session is not closing.
 *
 * Any number of senders call it at once; one at a time holds the [direct] guard while it hands a frame over. The
 * writer waits for the guard to be free ([awaitIdle]) before a close frame, so nothing handed over directly can follow
 * it. On Tether's engine a hand-over never waits for the socket ([DirectWrite]); completions that resume the sender are
 * moved off the I/O thread ([OffLoop]).
 */
internal class DirectWrites(
    private val session: TransportSession,
    private val outbox: Outbox,
    private val connectDone: Deferred<Unit>,
    private val signals: SessionSignals,
) {
    /**
     * The guard: 1 while a direct write hands its frame to the session; the writer waits for it before a close frame.
     * A field with an updater, not an AtomicBoolean: an idle connection then holds one object less.
     */
    @Volatile
    private var direct: Int = 0

    /** Set by the writer when `onConnect`'s time (connectTimeout) ran out before it returned. */
    @Volatile
    private var onConnectTimedOut = false

    /** True once `onConnect` returned, or its time ran out: direct writes may go. */
    val onConnectPhaseOver: Boolean get() = onConnectTimedOut || connectDone.isCompleted

    /** The writer gave up waiting for `onConnect`: other frames go out now. */
    fun endOnConnectPhase() {
        onConnectTimedOut = true
    }

    private val observed = session as? ObservedSession

    /**
     * Writes [frame] now, from the caller's coroutine, when the fast path is open (see the class). Returns false when
     * the frame must go through the outbox instead (it was not handed to the socket); throws
     * [TetherException.SendFailed] when it was handed over but the connection died before it was written.
     */
    suspend fun tryWriteNow(frame: Frame): Boolean {
        if (!open()) return false
        if (observed?.hasDirectWrite == true) return writeNowAndWait(frame)
        if (!GUARD.compareAndSet(this, 0, 1)) return false
        try {
            if (signals.closing || outbox.inFlight.get() != 0) return false
            session.send(frame.toRaw())
        } catch (e: TetherException) {
            return false
        } finally {
            direct = 0
        }
        try {
            session.flush()
            return true
        } catch (e: TetherException) {
            // An engine may refuse a flush once the session is closing (Ktor's does once the close frame is out). If
            // our close frame went out, so did this frame, which was handed over before it: that is written.
            if (signals.closeFlushed.await()) return true
            throw lostBeforeWritten(frame)
        }
    }

    /**
     * [tryWriteNow] without suspending, for [dev.tether.Connection.enqueue]: on an engine that can take a frame at
     * once ([DirectWrite]), hands [tracked] to the socket and completes it when written. False: use the outbox.
     */
    fun tryWriteNow(tracked: Tracked): Boolean {
        val marker = handOver(tracked.frame) ?: return false
        if (marker === DirectWrite.WRITTEN) {
            tracked.written.complete(Unit)
            return true
        }
        // the sender's completion handlers (a Java future's stages, invokeOnCompletion) must not run on the loop
        whenWritten(marker) { written ->
            if (written) {
                tracked.written.complete(Unit)
            } else {
                tracked.fail(SendFailure.CONNECTION_LOST, LOST_BEFORE_WRITTEN)
            }
        }
        return true
    }

    /**
     * Waits until no direct write is handing its frame over. A hand-over never waits for the socket on Tether's engine
     * ([writeNowAndWait]); on another engine it may, so this sleeps between looks (no spinning) and gives up at
     * [DIRECT_WAIT]: the session is then shut, which fails that write honestly (it was not written).
     */
    suspend fun awaitIdle() {
        withTimeoutOrNull(DIRECT_WAIT) { while (direct != 0) delay(1) }
    }

    private fun open(): Boolean = !signals.closing && outbox.inFlight.get() == 0 && !outbox.selectUsed && onConnectPhaseOver

    /**
     * The direct path on an engine that writes from the caller ([DirectWrite]): the frame is handed over without
     * waiting (never while holding [direct], so that a closing writer never waits for a sender stuck behind a full
     * socket), then the caller waits for it to reach the socket. False, nothing handed over: the socket already holds
     * more than its bound, so the frame goes through the outbox and its backpressure instead.
     */
    private suspend fun writeNowAndWait(frame: Frame): Boolean {
        val marker = handOver(frame) ?: return false
        if (marker === DirectWrite.WRITTEN) return true // the common case: every byte is on the socket, no allocation
        // not marker.await(): the loop completes the marker, and a caller on an immediate dispatcher (Unconfined, or
        // a Java facade's direct executor) would then go on with its own code on the I/O thread
        val done = CompletableDeferred<Boolean>()
        whenWritten(marker) { written -> done.complete(written) }
        if (!done.await()) throw lostBeforeWritten(frame)
        return true
    }

    /**
     * Calls [then] with true once [marker] is reached (every byte of its frame is on the socket), false when the
     * connection ends first; never on an I/O thread, where the loop that completes the marker runs ([OffLoop]): what
     * [then] completes may resume the application's code in place.
     */
    private inline fun whenWritten(marker: CompletableDeferred<Unit>, crossinline then: (Boolean) -> Unit) {
        marker.invokeOnCompletion { e -> OffLoop.run { then(e == null) } }
    }

    /**
     * The one direct hand-over of both [tryWriteNow]s on an engine that writes from the caller ([DirectWrite]): when
     * the fast path is open, queues [frame] on the socket under the [direct] guard, without waiting. Null, nothing
     * handed over: the frame goes through the outbox (the engine cannot take it now, or another sender holds the guard).
     */
    private fun handOver(frame: Frame): CompletableDeferred<Unit>? {
        val writer = session as? DirectWrite ?: return null
        if (!open()) return null
        if (!GUARD.compareAndSet(this, 0, 1)) return null
        try {
            if (signals.closing || outbox.inFlight.get() != 0) return null
            return writer.writeNow(frame.toRaw())
        } finally {
            direct = 0
        }
    }

    private fun lostBeforeWritten(frame: Frame) =
        TetherException.SendFailed(frame, SendFailure.CONNECTION_LOST, LOST_BEFORE_WRITTEN)

    private companion object {
        val GUARD: AtomicIntegerFieldUpdater<DirectWrites> = AtomicIntegerFieldUpdater.newUpdater(DirectWrites::class.java, "direct")

        /** The longest a closing writer waits for a direct write to finish handing its frame over. */
        val DIRECT_WAIT = 1000.milliseconds

        const val LOST_BEFORE_WRITTEN = "the connection was lost before the frame was written"
    }
}
