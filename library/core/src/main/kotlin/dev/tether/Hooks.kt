package dev.tether

import kotlin.time.Duration

/**
 * The receiver of every hook: what a hook may do. Hooks run one at a time, in event order, on a coroutine of
 * their own (never on the socket reader), on the client's callback dispatcher. A slow hook delays later hooks
 * and, once the incoming buffer fills, reading from the socket: it never blocks pings or the close handshake.
 */
public interface HookScope {
    /** The connection the hook belongs to. */
    public val connection: Connection

    /** 0 for the first connection of a streak, then the reconnect attempt number. */
    public val attempt: Int

    /** Sends [frame]; suspends until it is written (see [Connection.send]). */
    public suspend fun send(frame: Frame) {
        connection.send(frame)
    }

    /** Sends a text frame; suspends until it is written. */
    public suspend fun sendText(text: String) {
        connection.send(Frame.Text(text))
    }

    /** Sends a binary frame; suspends until it is written. */
    public suspend fun sendBinary(bytes: ByteArray) {
        connection.send(Frame.Binary(bytes))
    }
}

/**
 * The hooks of a client, set in the DSL (`onConnect { }`, `onText { }` …). Immutable. A hook that throws becomes a
 * [TetherException.HandlerFailed] that `onError` decides about; it never kills the connection by itself.
 */
public class Hooks internal constructor(
    internal val onConnect: (suspend HookScope.(Handshake) -> Unit)?,
    internal val onText: (suspend HookScope.(String) -> Unit)?,
    internal val onBinary: (suspend HookScope.(ByteArray) -> Unit)?,
    internal val onPing: (suspend HookScope.(ByteArray) -> Unit)?,
    internal val onPong: (suspend HookScope.(ByteArray, Duration?) -> Unit)?,
    internal val onError: (suspend HookScope.(TetherException) -> Decision)?,
    internal val onDisconnect: (suspend HookScope.(Disconnect) -> Decision)?,
    internal val onTerminate: (suspend HookScope.(ConnectionState.Closed) -> Unit)?,
) {
    /** True when frames go to `onText`/`onBinary` instead of [Connection.incoming]. */
    internal val consumesFrames: Boolean get() = onText != null || onBinary != null
}
