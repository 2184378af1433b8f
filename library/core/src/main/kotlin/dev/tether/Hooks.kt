package dev.tether

import dev.tether.internal.KotlinOnly
import kotlin.time.Duration

/**
 * The receiver of every hook: what a hook may do. Hooks run one at a time, in event order, on a coroutine of
 * their own (`tether-hooks`, never the socket reader) on the connection's dispatcher, or on `hookDispatcher` if set.
 * A slow hook delays later hooks and, once the incoming buffer and the read-ahead fill, reading from the socket; the
 * keepalive does not count that time. At the close deadline a hook still running is cancelled (one that blocks its
 * thread is left behind, and `onTerminate` may then run beside it).
 */
@SubclassOptInRequired(TetherImplementationOnly::class)
public interface HookScope {
    /** The connection the hook belongs to. */
    public val connection: Connection

    /** 0 for the first connection of a streak, then the reconnect attempt number. */
    public val attempt: Int

    /**
     * Queues [frame] for the socket and returns without waiting for the write: a hook that waited could deadlock
     * with the supervisor, which waits for hooks. Written at once when the connection is idle; otherwise queued in
     * call order like [Connection.enqueue] (with SUSPEND, frames that find the buffer full wait in line, up to 65 536).
     * Fails at once with [TetherException.SendFailed] when it cannot be queued (FAIL policy and a full buffer,
     * REJECT while offline, the client closed); a frame lost later is reported to `onError`.
     * From `onConnect`, frames go first: before anything queued earlier (the offline outbox) and before anything
     * sent after the connection became `Connected`, which waits until `onConnect` returns.
     */
    public suspend fun send(frame: Frame)

    /**
     * [send] without suspending, for callbacks of other libraries called from a hook: queues [frame] and returns a
     * [kotlinx.coroutines.Deferred] that completes when it is written (see [Connection.enqueue]).
     */
    public fun enqueue(frame: Frame): kotlinx.coroutines.Deferred<Unit>

    /**
     * What Tether decides after [error] when no `onError` hook is set: [DefaultPolicy.onError] for this client (it
     * knows whether the client has a connect provider), and [Decision.Close] where that would reconnect or stay down
     * while reconnecting is off (`reconnect { enabled = false }`). For a hook that handles some errors and leaves the
     * rest to Tether: `onError { e -> if (e is MyError) Decision.StayDown else defaultDecision(e) }`.
     */
    public fun defaultDecision(error: TetherException): Decision

    /**
     * What Tether decides after [disconnect] when no `onDisconnect` hook is set: [DefaultPolicy.onDisconnect], and
     * [Decision.Close] where that would reconnect or stay down while reconnecting is off. See the other overload.
     */
    public fun defaultDecision(disconnect: Disconnect): Decision

    /** Queues a text frame; see [send]. */
    public suspend fun sendText(text: String) {
        send(Frame.Text(text))
    }

    /** Queues a binary frame (a copy of [bytes]); see [send]. */
    public suspend fun sendBinary(bytes: ByteArray) {
        send(Frame.Binary(bytes))
    }
}

/**
 * The hooks of a client, set in the DSL (`onConnect { }`, `onText { }` …). Immutable. A hook that throws becomes a
 * [TetherException.HandlerFailed] that `onError` decides about; it never kills the connection by itself.
 */
public class Hooks internal constructor(
    @get:JvmSynthetic
    internal val onConnect: (suspend HookScope.(Handshake) -> Unit)?,
    @get:JvmSynthetic
    internal val onText: (suspend HookScope.(String) -> Unit)?,
    @get:JvmSynthetic
    internal val onBinary: (suspend HookScope.(ByteArray) -> Unit)?,
    @get:JvmSynthetic
    internal val onPing: (suspend HookScope.(ByteArray) -> Unit)?,
    @get:JvmSynthetic
    internal val onPong: (suspend HookScope.(ByteArray, Duration?) -> Unit)?,
    @get:JvmSynthetic
    internal val onError: (suspend HookScope.(TetherException) -> Decision)?,
    @get:JvmSynthetic
    internal val onDisconnect: (suspend HookScope.(Disconnect) -> Decision)?,
    @get:JvmSynthetic
    internal val onTerminate: (suspend HookScope.(ConnectionState.Closed) -> Unit)?,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    /**
     * The names of the hooks that are set (`onConnect`, `onText`, `onBinary`, `onPing`, `onPong`, `onError`,
     * `onDisconnect`, `onTerminate`): for libraries built on Tether that must own some of them (the Phoenix socket
     * rejects a `tether { onText { } }` it would otherwise have to override).
     */
    public val defined: Set<String>
        get() = buildSet {
            if (onConnect != null) add("onConnect")
            if (onText != null) add("onText")
            if (onBinary != null) add("onBinary")
            if (onPing != null) add("onPing")
            if (onPong != null) add("onPong")
            if (onError != null) add("onError")
            if (onDisconnect != null) add("onDisconnect")
            if (onTerminate != null) add("onTerminate")
        }

    /** True when frames go to `onText`/`onBinary` instead of [Connection.incoming]. */
    @get:JvmSynthetic
    internal val consumesFrames: Boolean get() = onText != null || onBinary != null
}
