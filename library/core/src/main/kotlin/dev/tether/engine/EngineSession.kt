package dev.tether.engine

import dev.tether.Handshake

/**
 * One open WebSocket connection, as raw frames.
 *
 * Threading: [receive] is called by one coroutine at a time (Tether's reader); [send] and [flush] may be called from
 * several coroutines at once and must keep call order; [abort] from any thread.
 */
@TetherEngineApi
public interface EngineSession {
    /** What the server answered to the upgrade. */
    public val handshake: Handshake

    /** True if the engine validates UTF-8 of text messages itself (fail-fast, per fragment), so Tether need not. */
    public val validatesUtf8: Boolean get() = false

    /**
     * True (the default) if the engine writes the close frame itself when it rejects an incoming frame, so nothing
     * can be written after that. False if it only reports the violation from [receive] and keeps the socket open
     * for writing: Tether then writes what the application had queued, and then the close frame (Tether's own
     * engine does this).
     */
    public val closesOnProtocolError: Boolean get() = true

    /**
     * The next frame. Throws [dev.tether.TetherException.ConnectionLost] at EOF or on an I/O failure,
     * [dev.tether.TetherException.ProtocolViolation] or [dev.tether.TetherException.FrameTooLarge] when the engine
     * itself rejected a frame (if [closesOnProtocolError], it has then queued the matching close frame).
     */
    public suspend fun receive(): EngineFrame

    /** Queues [frame] for writing, in call order. */
    public suspend fun send(frame: EngineFrame)

    /** Suspends until every frame queued so far is written to the socket; throws ConnectionLost if it cannot be. */
    public suspend fun flush()

    /** Suspends until the engine has written everything queued (after a close frame) or the socket is gone. */
    public suspend fun awaitWriterDone()

    /** Shuts the socket now, without a closing handshake. Idempotent. */
    public fun abort()
}
