package dev.tether.internal

import kotlinx.coroutines.CompletableDeferred

/** An engine session that can take a frame without suspending (Tether's own): the fast path of [dev.tether.Connection.enqueue]. */
internal interface DirectWrite {
    /**
     * Queues [frame] for the socket now. Returns null, with nothing queued, if it cannot take the frame without
     * waiting; [WRITTEN] if every byte is already on the socket; else a deferred that completes once the frame is on
     * the socket (and fails if the socket closes first).
     */
    fun writeNow(frame: RawFrame): CompletableDeferred<Unit>? = writeNow(frame, null)

    /** [writeNow], calling [committed] once it will write the frame, just before the first byte goes out. */
    fun writeNow(frame: RawFrame, committed: (() -> Unit)?): CompletableDeferred<Unit>?

    companion object {
        /** What [writeNow] returns when the frame is already on the socket. */
        val WRITTEN: CompletableDeferred<Unit> = CompletableDeferred(Unit)
    }
}

/**
 * An engine session that can send a ping or a pong ahead of the data already queued (Tether's own engine): liveness
 * must not wait behind what the application queued (RFC 6455 §5.4 lets control frames go between frames).
 */
internal interface UrgentControl {
    /** Sends the ping or pong [frame] ahead of queued data; waits only past a small bound of control frames. */
    suspend fun sendControl(frame: RawFrame)
}

/** Sends the ping or pong [frame] ahead of queued data when the session can ([UrgentControl]), else in line. */
internal suspend fun TransportSession.sendControl(frame: RawFrame) {
    if (this is UrgentControl) sendControl(frame) else send(frame)
}

/** A position in a session's outgoing stream (see [WriteProgress]). */
internal class WriteMark {
    /** True once every byte queued before this mark is on the socket. */
    @Volatile
    var done: Boolean = false
}

/**
 * An engine session that can tell which queued frames reached the socket (Tether's own engine), so that a writer
 * stopped midway reports the frames already written as written and only the others as lost.
 */
internal interface WriteProgress {
    /** A mark behind everything queued so far, or null when the engine cannot tell. */
    fun mark(): WriteMark?

    /**
     * Returns once no write is in progress, so that every mark tells whether the bytes before it reached the socket:
     * a write may have put them on the socket and not yet marked them (a frame then reported lost would arrive).
     */
    fun settle()
}
