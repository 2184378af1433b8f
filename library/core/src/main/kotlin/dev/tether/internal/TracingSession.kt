package dev.tether.internal

import dev.tether.engine.EngineFrame
import dev.tether.engine.EngineSession
import kotlinx.coroutines.CompletableDeferred

/** An engine session whose frames, both ways, go to [trace] (only made when `traceFrames` is on). */
internal class TracingSession(private val delegate: EngineSession, private val trace: FrameTrace) : EngineSession by delegate, DirectWrite, PeerClose {
    override suspend fun receive(): EngineFrame = delegate.receive().also { trace.frame(out = false, it) }

    override suspend fun send(frame: EngineFrame) {
        trace.frame(out = true, frame)
        delegate.send(frame)
    }

    /** The delegate's wait for the peer's TCP close, if it has one (else it returns at once, as without tracing). */
    override suspend fun awaitPeerClose() {
        (delegate as? PeerClose)?.awaitPeerClose()
    }

    /** The delegate's direct write, if it has one; otherwise the caller uses the outbox, as without tracing. */
    override fun writeNow(frame: RawFrame): CompletableDeferred<Unit>? {
        val direct = delegate as? DirectWrite ?: return null
        return direct.writeNow(frame)?.also { trace.frame(out = true, frame) }
    }
}
