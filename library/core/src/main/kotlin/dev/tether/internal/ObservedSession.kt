package dev.tether.internal

import dev.tether.engine.EngineFrame
import dev.tether.engine.EngineSession
import kotlinx.coroutines.CompletableDeferred

/**
 * An engine session whose frames, both ways, are told to the connection's [events] (when someone collects them) and
 * to the frame [trace] (when `traceFrames` is on): outgoing ones here, incoming ones through [inbound], which the
 * reader calls. Every session is wrapped; unwatched, a frame costs a check.
 */
internal class ObservedSession(
    private val delegate: EngineSession,
    private val trace: FrameTrace?,
    private val events: ConnectionEvents,
) : EngineSession by delegate, DirectWrite, PeerClose, UrgentControl, WriteProgress {
    /** True when the engine can write from the caller's thread ([DirectWrite]); Tether's own engine can. */
    val hasDirectWrite: Boolean = delegate is DirectWrite

    /**
     * Tells a frame the reader took from [receive] (which is not overridden, so that the reader's hot path keeps
     * calling the engine directly, without a suspending wrapper).
     */
    fun inbound(frame: EngineFrame) {
        observe(out = false, frame)
    }

    override suspend fun send(frame: EngineFrame) {
        observe(out = true, frame)
        delegate.send(frame)
    }

    /**
     * The delegate's direct write, if it has one (otherwise the caller uses the outbox, as without the wrapper). The
     * frame is observed once the delegate commits to writing it, before its first byte: an answer cannot be told first.
     */
    override fun writeNow(frame: RawFrame, committed: (() -> Unit)?): CompletableDeferred<Unit>? {
        val direct = delegate as? DirectWrite ?: return null
        if (trace == null && !events.watched) return direct.writeNow(frame, committed) // the hot path: nothing to tell
        return direct.writeNow(frame) {
            observe(out = true, frame)
            committed?.invoke()
        }
    }

    /** A ping or pong ahead of queued data when the delegate can ([UrgentControl]), else in line. */
    override suspend fun sendControl(frame: RawFrame) {
        observe(out = true, frame)
        delegate.sendControl(frame) // the extension: ahead of queued data when the delegate can, else in line
    }

    /** The delegate's mark, if it can tell what reached the socket ([WriteProgress]); else null. */
    override fun mark(): WriteMark? = (delegate as? WriteProgress)?.mark()

    override fun settle() {
        (delegate as? WriteProgress)?.settle()
    }

    /** The delegate's wait for the peer's TCP close, if it has one (else it returns at once, as without the wrapper). */
    override suspend fun awaitPeerClose() {
        (delegate as? PeerClose)?.awaitPeerClose()
    }

    private fun observe(out: Boolean, frame: EngineFrame) {
        trace?.frame(out, frame)
        events.frame(out, frame)
    }
}
