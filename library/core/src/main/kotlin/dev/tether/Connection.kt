package dev.tether

import kotlinx.coroutines.channels.ReceiveChannel
import kotlinx.coroutines.channels.SendChannel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.StateFlow

/**
 * A supervised, self-healing WebSocket connection: one long-lived coroutine that connects, reconnects with
 * backoff, keeps the link alive with pings and closes deterministically. Get one from [WebSocketClient.connect]
 * or [WebSocketClient.connectIn].
 *
 * ## Threading
 * Every member is safe to call from any thread or coroutine. The connection's own work (the supervisor, one
 * socket reader, one writer, the keepalive) runs on the client's dispatcher; hooks run on a coroutine of their
 * own, never on the reader.
 *
 * ## Buffering
 * [incoming] and [outgoing] are bounded (see `incomingBuffer` / `outgoingBuffer`). [outgoing] is also the
 * offline outbox: frames sent while disconnected are written, in order, after the next connect (policy
 * [OfflinePolicy.QUEUE]). Only an application-level acknowledgement proves that the server processed a message;
 * "written" means handed to the socket.
 */
public interface Connection : AutoCloseable {
    /** The current state; a hot [StateFlow] that replays the latest value to each collector. */
    public val state: StateFlow<ConnectionState>

    /**
     * Whole text and binary messages from the server, across reconnects, in arrival order. Single consumer.
     * Empty when an `onText` or `onBinary` hook is set (the hooks receive the messages instead). Closed
     * (not cancelled) when the client ends, so what was received can still be drained.
     */
    public val incoming: ReceiveChannel<Frame>

    /** [incoming] as a [Flow] (hot, single collector: each message goes to one collector). */
    public val frames: Flow<Frame>

    /**
     * Frames to send, in order. `send` on this channel returns once the frame is queued, not written; a frame
     * that is dropped or cannot be written is reported to `onError` as [TetherException.SendFailed]. With the
     * FAIL overflow policy this channel suspends when full; use [send] or `trySend` to fail fast.
     * Sending a [Frame.Close] closes the client; so does closing this channel (with 1000, after what is queued is
     * written): the channel stays usable until the client has ended and never breaks the connection.
     */
    public val outgoing: SendChannel<Frame>

    /**
     * Sends [frame] and suspends until it is written to the socket. Fails with [TetherException.SendFailed] when
     * the frame is dropped by the buffer policy, rejected while offline ([OfflinePolicy.REJECT]), lost with the
     * connection, or the client is closed. A [Frame.Close] closes the client (as [close] with its code).
     * Cancelling the caller before the writer has taken the frame withdraws it: it is not sent.
     * Do not call it from a hook: use [HookScope.send].
     */
    public suspend fun send(frame: Frame)

    /** Sends a text message; see [send]. */
    public suspend fun sendText(text: String) {
        send(Frame.Text(text))
    }

    /** Sends a binary message (a copy of [bytes]); see [send]. */
    public suspend fun sendBinary(bytes: ByteArray) {
        send(Frame.Binary(bytes))
    }

    /**
     * Suspends until the connection is [ConnectionState.Connected] (returns at once if it is) and returns that
     * state. Fails with [IllegalStateException] if the client reaches [ConnectionState.Closed] first.
     */
    public suspend fun awaitConnected(): ConnectionState.Connected

    /** Suspends until the client is closed and returns the terminal state. */
    public suspend fun awaitClosed(): ConnectionState.Closed

    /**
     * Connects again now. In [ConnectionState.Down] or [ConnectionState.Reconnecting] it ends the wait and attempts
     * to connect. In [ConnectionState.Connected] it closes the connection (1000) and reconnects after the delay for
     * the next attempt, as after a failure: use it when a protocol above notices a dead link (a missed heartbeat).
     * No effect while connecting or closing.
     */
    public fun reconnect()

    /**
     * Closes the client: stops reconnecting, runs the closing handshake with [code] and [reason] (after frames
     * already queued are written), forces the socket shut after the close timeout, and completes every coroutine
     * of the connection. Idempotent: later calls wait for the same end. Returns the terminal state.
     *
     * @throws IllegalArgumentException if [code] is not a valid close code or [reason] exceeds 123 UTF-8 bytes.
     */
    public suspend fun close(code: Int, reason: String = ""): ConnectionState.Closed

    /**
     * Closes with 1000 and blocks the calling thread until the client has ended (see `close(code, reason)`).
     * From a coroutine, prefer the suspending `close(code)`.
     */
    override fun close()
}
