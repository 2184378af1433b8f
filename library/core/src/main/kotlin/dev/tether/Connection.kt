package dev.tether

import kotlinx.coroutines.Deferred
import kotlinx.coroutines.channels.ReceiveChannel
import kotlinx.coroutines.channels.SendChannel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.StateFlow
import kotlin.time.Duration

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
@SubclassOptInRequired(TetherImplementationOnly::class)
public interface Connection : AutoCloseable {
    /**
     * A short id, unique in this process and kept across reconnects (e.g. `c7-3fa2`): every log line of this
     * connection starts with it, so you can find them, and you can put it in your own.
     */
    public val id: String

    /** The current state; a hot [StateFlow] that replays the latest value to each collector. */
    public val state: StateFlow<ConnectionState>

    /**
     * Everything that happens to this connection, in order and never conflated (see [ConnectionEvent]): every
     * transition, connect failure, frame both ways, pong round trip and failed send. A hot flow: a collector sees what
     * happens while it collects (with no collector, nothing is made). It never blocks the connection: a collector
     * more than [EVENT_BUFFER] events behind misses the newest ones and gets [ConnectionEvent.EventsDropped] with
     * their count before the next one it receives. Collect it on a dispatcher of your choice.
     */
    public val events: kotlinx.coroutines.flow.SharedFlow<ConnectionEvent>

    /** Frames queued for this connection and not yet written (the outbox, offline or busy); any thread, a snapshot. */
    public val outboxDepth: Int

    /**
     * Messages read from the socket that wait in Tether's read-ahead because [incoming] (or the hooks' buffer) is
     * full: above 0, the application is behind by more than the whole incoming buffer. Any thread, a snapshot.
     */
    public val incomingBacklog: Int

    /**
     * Whole text and binary messages from the server, across reconnects, in arrival order. Single consumer.
     * Closed (not cancelled) when the client ends, so what was received can still be drained.
     *
     * Messages go either here or to the `onText`/`onBinary` hooks, never both: when one of those hooks is set,
     * this channel is closed from the start with an [IllegalStateException] that says so, so a consumer fails
     * at once instead of waiting for ever.
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

    /**
     * [send] with a time to live of its own, instead of the client's `outboxTimeToLive`: if the frame is still
     * waiting in the outbox (offline, or behind a full buffer) after [timeToLive], it fails with
     * [TetherException.SendFailure.EXPIRED] and is never sent. Null: no limit.
     */
    public suspend fun send(frame: Frame, timeToLive: Duration?)

    /**
     * Queues [frame] without suspending, for code outside coroutines (the Java facade, callbacks, other async
     * libraries), and returns at once. The result completes when the frame is written to the socket, or fails with
     * [TetherException.SendFailed] for the same reasons as [send]; cancelling it before the frame is written
     * withdraws the frame. Frames enqueued from one thread are written in that order (and in order with [send]
     * calls that returned before). With the SUSPEND overflow policy, frames that find the outgoing buffer full wait
     * in line behind it (up to 65 536, then BUFFER_FULL) instead of suspending the caller. A [Frame.Close] closes
     * the client (see [close]) and completes at once.
     */
    public fun enqueue(frame: Frame): Deferred<Unit>

    /** [enqueue] with a time to live of its own (see `send(frame, timeToLive)`). */
    public fun enqueue(frame: Frame, timeToLive: Duration?): Deferred<Unit>

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
     * state. Fails with [IllegalStateException] (whose cause is the state's cause) if the client reaches
     * [ConnectionState.Closed] first, or goes [ConnectionState.Down] with no `reconnect()` pending: a Down client
     * connects again only when told to.
     */
    public suspend fun awaitConnected(): ConnectionState.Connected

    /** Suspends until the client is closed and returns the terminal state. */
    public suspend fun awaitClosed(): ConnectionState.Closed

    /**
     * Connects again now. In [ConnectionState.Down] or [ConnectionState.Reconnecting] it ends the wait and attempts
     * to connect. In [ConnectionState.Connected] it drops the connection, treating the link as suspect: frames
     * already handed to the socket get a short grace (250 ms) to go out with a close frame (1000), no answer is
     * awaited, and the state goes straight to [ConnectionState.Reconnecting] with the delay for the next attempt;
     * frames still queued stay queued for the next connection. Use it when a protocol above notices a dead link
     * (a missed heartbeat). No effect while connecting or closing. Never lost: commands are queued and read by
     * the connection in every state.
     */
    public fun reconnect()

    /**
     * Pauses: closes the connection gracefully (1000, "paused") or stops trying, keeps the outbox, and stays
     * [ConnectionState.Paused] until [resume]. Sends while paused queue (QUEUE policy) or fail (REJECT). Use it for
     * app lifecycle by hand; `gate(flow)` in the builder does the same from a flow.
     */
    public fun pause()

    /** Ends a [pause] (and an idle pause): connects at once, with the attempt count reset. */
    public fun resume()

    /**
     * Closes the client: stops reconnecting, runs the closing handshake with [code] and [reason] (after frames
     * already queued are written), forces the socket shut after the close timeout, and completes every coroutine
     * of the connection. Returns within `closeTimeout` of the first close request plus a slack of 1 s, whatever
     * hooks, consumers or the server do: hooks still running then are cancelled (a hook that blocks its thread is
     * left behind, not waited for). Idempotent: later calls wait for the same end. Returns the terminal state.
     * Called from a hook (or another coroutine of the connection), it returns the terminal state as soon as it is
     * decided, without waiting for the hooks (which include the caller).
     *
     * @throws IllegalArgumentException if [code] is not a valid close code or [reason] exceeds 123 UTF-8 bytes.
     */
    public suspend fun close(code: Int, reason: String = ""): ConnectionState.Closed

    /**
     * Closes with 1000 and blocks the calling thread until the client has ended (see `close(code, reason)`), at most
     * `closeTimeout` plus 2 s. It never deadlocks: called from a hook, from a coroutine of the connection, or from the
     * thread of a `runBlocking` whose scope runs the connection (`runBlocking { client.connectIn(this).use { } }`),
     * it asks for the close and returns without waiting. From a coroutine, prefer the suspending `close(code)`.
     */
    override fun close()

    public companion object {
        /** How many [events] a collector may fall behind before it misses some. */
        public const val EVENT_BUFFER: Int = 1024
    }
}
