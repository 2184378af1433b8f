package dev.tether.internal

import dev.tether.ConnectRequest
import dev.tether.Handshake
import kotlinx.coroutines.CoroutineScope

/**
 * The transport seam: the only boundary behind which a WebSocket engine (Ktor CIO) lives. Frames cross it
 * unreassembled, with their RSV bits; ping, pong and close are left to the protocol engine above.
 */
internal interface Transport {
    /**
     * Opens one connection. Throws [dev.tether.TetherException.ConnectFailed] or
     * [dev.tether.TetherException.HandshakeFailed]. The session's I/O runs as children of [scope].
     */
    suspend fun open(request: ConnectRequest, scope: CoroutineScope): TransportSession

    /** Releases the engine. Idempotent. */
    fun close()
}

/** One open WebSocket connection, as raw frames. */
internal interface TransportSession {
    val handshake: Handshake

    /**
     * The next frame. Throws [dev.tether.TetherException.ConnectionLost] at EOF or on an I/O failure,
     * [dev.tether.TetherException.ProtocolViolation] or [dev.tether.TetherException.FrameTooLarge] when the
     * engine itself rejected a frame (it has then queued the matching close frame).
     */
    suspend fun receive(): RawFrame

    /** Queues [frame] for writing, in call order. Safe to call from several coroutines. */
    suspend fun send(frame: RawFrame)

    /** Suspends until every frame queued so far is written to the socket. */
    suspend fun flush()

    /** Suspends until the engine's writer has finished (after a close frame was written). */
    suspend fun awaitWriterDone()

    /** Shuts the socket now, without a closing handshake. Idempotent. */
    fun abort()
}

/** A frame as it came off the wire. [opcode] of a continuation is that of the message it continues. */
internal class RawFrame(
    val opcode: Int,
    val fin: Boolean,
    val rsv: Int,
    val data: ByteArray,
) {
    override fun toString(): String = "RawFrame(opcode=$opcode, fin=$fin, rsv=$rsv, ${data.size} bytes)"

    companion object {
        const val TEXT: Int = 1
        const val BINARY: Int = 2
        const val CLOSE: Int = 8
        const val PING: Int = 9
        const val PONG: Int = 10
    }
}
