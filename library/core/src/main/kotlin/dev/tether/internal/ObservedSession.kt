package dev.tether.internal

import dev.tether.engine.EngineFrame
import dev.tether.engine.EngineSession
import kotlinx.coroutines.CompletableDeferred

/**
 * An engine session whose frames, both ways, are told to the connection's [events] (when someone collects them) and
 * to the frame [trace] (when `traceFrames` is on). Every session is wrapped; unwatched, a frame costs a check.
 */
internal class ObservedSession(
    private val delegate: EngineSession,
    private val trace: FrameTrace?,
    private val events: ConnectionEvents,
) : EngineSession by delegate, DirectWrite, PeerClose {
    override suspend fun receive(): EngineFrame = delegate.receive().also { observe(out = false, it) }

    override suspend fun send(frame: EngineFrame) {
        observe(out = true, frame)
        delegate.send(frame)
    }

    /** The delegate's direct write, if it has one; otherwise the caller uses the outbox, as without the wrapper. */
    override fun writeNow(frame: RawFrame): CompletableDeferred<Unit>? {
        val direct = delegate as? DirectWrite ?: return null
        return direct.writeNow(frame)?.also { observe(out = true, frame) }
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
