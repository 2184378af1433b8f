package dev.tether.internal

import dev.tether.Connection
import dev.tether.ConnectionState
import dev.tether.Decision
import dev.tether.DefaultPolicy
import dev.tether.Disconnect
import dev.tether.Frame
import dev.tether.Handshake
import dev.tether.HookScope
import dev.tether.TetherException
import dev.tether.WebSocketClientConfig
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.channels.Channel
import kotlin.time.Duration

/**
 * Runs the user's hooks, one at a time and in event order, on the `tether-hooks` coroutine: never on the socket
 * reader. A hook that throws becomes [TetherException.HandlerFailed], decided by `onError`; a decision other than
 * Ignore taken while connected goes to the supervisor through [decisions].
 */
internal class HookRunner(
    private val config: WebSocketClientConfig,
    override val connection: Connection,
    private val outbox: Outbox,
    private val log: TetherLog,
) : HookScope {
    private val hooks = config.hooks

    @Volatile
    override var attempt: Int = 0

    /** Events for the hooks; bounded like the incoming buffer, so slow hooks push back on the reader. */
    val events = Channel<Event>(config.incomingBuffer.capacity)

    /** Decisions hooks took while a connection was up (e.g. Close after a handler failure). */
    val decisions = Channel<Decision>(Channel.CONFLATED)

    /** See [HookScope.send]: never waits for the write. */
    override suspend fun send(frame: Frame) {
        val t = Tracked(frame)
        outbox.enqueue(t, neverSuspend = true)
        if (t.written.isCompleted) t.written.await()
    }

    sealed class Event {
        class Connected(val handshake: Handshake) : Event()
        class Message(val frame: Frame) : Event()
        class Ping(val payload: ByteArray) : Event()
        class Pong(val payload: ByteArray, val rtt: Duration?) : Event()
        class Error(val error: TetherException) : Event()
        class DecideError(val error: TetherException, val answer: CompletableDeferred<Decision>) : Event()
        class DecideDisconnect(val disconnect: Disconnect, val answer: CompletableDeferred<Decision>) : Event()
        class Terminate(val closed: ConnectionState.Closed) : Event()
    }

    /** The decision about [error] outside a connection; the user's hook if set, else the default. */
    suspend fun decideError(error: TetherException): Decision {
        if (hooks.onError == null) return defaultOnError(error)
        val answer = CompletableDeferred<Decision>()
        events.send(Event.DecideError(error, answer))
        return answer.await()
    }

    /** The decision after [disconnect]; the user's hook if set, else the default. */
    suspend fun decideDisconnect(disconnect: Disconnect): Decision {
        if (hooks.onDisconnect == null) return defaultOnDisconnect(disconnect)
        val answer = CompletableDeferred<Decision>()
        events.send(Event.DecideDisconnect(disconnect, answer))
        return answer.await()
    }

    /** Reports a non-fatal error (a dropped frame) without waiting; decided like a handler failure. */
    fun report(error: TetherException) {
        log.error("reported", error)
        if (hooks.onError != null) events.trySend(Event.Error(error))
    }

    /** Hands a ping to `onPing` if set; skipped (never blocking the reader) when the hooks lag a full buffer behind. */
    fun observePing(payload: ByteArray) {
        if (hooks.onPing != null) events.trySend(Event.Ping(payload))
    }

    /** Hands a pong to `onPong` if set, like [observePing]. */
    fun observePong(payload: ByteArray, rtt: Duration?) {
        if (hooks.onPong != null) events.trySend(Event.Pong(payload, rtt))
    }

    /** Hands a message to `onText`/`onBinary`: suspends while the hooks lag (SUSPEND) or drops and reports. */
    suspend fun deliver(frame: Frame) {
        if (config.incomingBuffer.overflow == dev.tether.OverflowPolicy.SUSPEND) {
            val event = Event.Message(frame)
            if (!events.trySend(event).isSuccess) events.send(event)
        } else if (!events.trySend(Event.Message(frame)).isSuccess) {
            report(TetherException.MessageDropped(frame))
        }
    }

    /** Runs `onTerminate`, once, after the hooks loop has finished. */
    suspend fun terminate(closed: ConnectionState.Closed) {
        handle(Event.Terminate(closed))
    }

    /** The hooks loop; returns when [events] is closed and drained. */
    suspend fun run() {
        for (event in events) handle(event)
    }

    private suspend fun handle(event: Event) {
        when (event) {
            is Event.Connected -> guarded("onConnect") { hooks.onConnect?.invoke(this, event.handshake) }
            is Event.Message -> when (val f = event.frame) {
                is Frame.Text -> guarded("onText") { hooks.onText?.invoke(this, f.text) }
                is Frame.Binary -> guarded("onBinary") { hooks.onBinary?.invoke(this, f.toByteArray()) }
                else -> Unit
            }
            is Event.Ping -> guarded("onPing") { hooks.onPing?.invoke(this, event.payload) }
            is Event.Pong -> guarded("onPong") { hooks.onPong?.invoke(this, event.payload, event.rtt) }
            is Event.Error -> afterFailure(event.error)
            is Event.DecideError -> event.answer.complete(
                decide("onError", { defaultOnError(event.error) }) { hooks.onError!!.invoke(this, event.error) },
            )
            is Event.DecideDisconnect -> event.answer.complete(
                decide("onDisconnect", { defaultOnDisconnect(event.disconnect) }) {
                    hooks.onDisconnect!!.invoke(this, event.disconnect)
                },
            )
            is Event.Terminate -> try {
                hooks.onTerminate?.invoke(this, event.closed)
            } catch (e: CancellationException) {
                throw e
            } catch (e: Throwable) {
                log.error("hook onTerminate threw", e)
            }
        }
    }

    private suspend inline fun guarded(name: String, block: () -> Unit) {
        try {
            block()
        } catch (e: CancellationException) {
            throw e
        } catch (e: Throwable) {
            afterFailure(TetherException.HandlerFailed(name, e))
        }
    }

    private suspend fun afterFailure(error: TetherException) {
        log.error("non-fatal error", error)
        val decision = if (hooks.onError == null) {
            defaultOnError(error)
        } else {
            decide("onError", { defaultOnError(error) }) { hooks.onError.invoke(this, error) }
        }
        if (decision !is Decision.Ignore) decisions.trySend(decision)
    }

    private suspend inline fun decide(name: String, fallback: () -> Decision, block: () -> Decision): Decision =
        try {
            block()
        } catch (e: CancellationException) {
            throw e
        } catch (e: Throwable) {
            log.error("hook $name threw; using the default decision", e)
            fallback()
        }

    private fun defaultOnError(error: TetherException): Decision =
        reconnectEnabled(DefaultPolicy.onError(error, config.connectProvider != null))

    private fun defaultOnDisconnect(disconnect: Disconnect): Decision =
        reconnectEnabled(DefaultPolicy.onDisconnect(disconnect))

    /** With reconnect disabled, a default that would reconnect closes instead. */
    private fun reconnectEnabled(d: Decision): Decision =
        if (!config.reconnect.enabled && (d is Decision.Reconnect || d is Decision.ReconnectAfter)) Decision.Close() else d
}
