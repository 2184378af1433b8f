package dev.tether.internal

import dev.tether.Connection
import dev.tether.ConnectionEvent
import dev.tether.ConnectionState
import dev.tether.Decision
import dev.tether.DefaultPolicy
import dev.tether.Disconnect
import dev.tether.Frame
import dev.tether.Handshake
import dev.tether.HookScope
import dev.tether.OverflowPolicy
import dev.tether.TetherException
import dev.tether.TetherImplementationOnly
import dev.tether.WebSocketClientConfig
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.asContextElement
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.sync.Semaphore
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import kotlin.time.Duration

/**
 * Runs the user's hooks, one at a time and in event order, on the `tether-hooks` coroutine: never on the socket
 * reader. A hook that throws becomes [TetherException.HandlerFailed], decided by `onError`; a decision other than
 * Ignore goes to the supervisor as a [Command.Decide], tagged with the epoch the error happened in.
 */
@OptIn(TetherImplementationOnly::class)
internal class HookRunner(
    private val config: WebSocketClientConfig,
    override val connection: Connection,
    private val outbox: Outbox,
    private val log: TetherLog,
    private val eventSink: ConnectionEvents,
    /** The supervisor's current epoch (see [Command.Decide]); read when an event is created. */
    private val epoch: () -> Int,
    /** Where decisions about non-fatal errors go: the supervisor's command queue. */
    private val decided: (Command.Decide) -> Unit,
    /** True once a close of the client was asked: drops are counted from then on (see [report]). */
    private val closing: () -> Boolean = { false },
) : HookScope {
    private val hooks = config.hooks

    @Volatile
    override var attempt: Int = 0

    /**
     * Events for the hooks. Unbounded, so the supervisor never waits to hand one over; messages, the only events
     * that come in bulk, are bounded by [messagePermits] (the incoming buffer's capacity).
     */
    val events = Channel<Event>(Channel.UNLIMITED)
    private val messagePermits: Semaphore by lazy { Semaphore(config.incomingBuffer.capacity) } // only with onText/onBinary

    /**
     * Ping, pong and report events waiting: pings and pongs while fewer than the incoming buffer's capacity wait,
     * reports (dropped frames, failed sends) while fewer than [MAX_REPORTS]; past that they are skipped (a report is
     * still logged), never blocking the reader or a sender.
     */
    private val observations = AtomicInteger()

    private fun observe(event: Event, limit: Int) {
        if (observations.incrementAndGet() > limit || events.trySend(event).isFailure) {
            observations.decrementAndGet() // the hooks lag too far behind (or are done): skip, never block
        }
    }

    /** Frames `onConnect` sends: written before anything else on that connection (see [SessionRunner]). */
    val priority: Channel<Tracked>? = if (hooks.onConnect != null) Channel(Channel.UNLIMITED) else null

    /** True while `onConnect` runs: its sends go to [priority]. */
    @Volatile
    private var inConnect = false


    /**
     * True when the caller is `onConnect` itself (or a coroutine it started and waits for), calling the connection's
     * own `send`/`enqueue`: its frames must go first, at once, not wait in the outbox for `onConnect` to return.
     */
    fun callerIsOnConnect(): Boolean = inConnect && priority != null && connectHook.get() === this

    /** See [HookScope.send]: never waits for the write. */
    override suspend fun send(frame: Frame) {
        val written = enqueue(frame)
        if (written.isCompleted) written.await() // throws at once if it failed at once (closed, buffer full)
    }

    /** See [HookScope.enqueue]. */
    override fun enqueue(frame: Frame): Deferred<Unit> {
        val priority = priority
        if (inConnect && priority != null && frame !is Frame.Close) return enqueueFirst(frame, priority)
        return connection.enqueue(frame) // the fast path when the connection is idle, else the outbox in call order
    }

    /** Queues a frame of `onConnect` to go out before anything else (see [priority]). */
    fun enqueueFirst(frame: Frame): Deferred<Unit> = enqueueFirst(frame, priority!!)

    private fun enqueueFirst(frame: Frame, priority: Channel<Tracked>): Deferred<Unit> {
        val t = Tracked(frame, eventSink)
        outbox.inFlight.incrementAndGet()
        if (priority.trySend(t).isFailure) {
            outbox.finished(t)
            t.fail(TetherException.SendFailure.CLOSED)
        }
        return t.written
    }

    sealed class Event(val epoch: Int) {
        class Connected(val handshake: Handshake, val done: CompletableDeferred<Unit>, epoch: Int) : Event(epoch)
        class Message(val frame: Frame, epoch: Int) : Event(epoch)
        class Ping(val payload: ByteArray, epoch: Int) : Event(epoch)
        class Pong(val payload: ByteArray, val rtt: Duration?, epoch: Int) : Event(epoch)
        class Error(val error: TetherException, epoch: Int) : Event(epoch)
        class DecideError(val error: TetherException, val answer: CompletableDeferred<Decision>, epoch: Int) : Event(epoch)
        class DecideDisconnect(val disconnect: Disconnect, val answer: CompletableDeferred<Decision>, epoch: Int) :
            Event(epoch)
        class Terminate(val closed: ConnectionState.Closed) : Event(-1)
    }

    /** Hands the start of a connection to `onConnect`; [done] completes when it has returned (or at once without one). */
    fun connected(handshake: Handshake, done: CompletableDeferred<Unit>) {
        if (hooks.onConnect == null || events.trySend(Event.Connected(handshake, done, epoch())).isFailure) done.complete(Unit)
    }

    /** The decision about [error] outside a connection: the user's hook if set, else the default. Never suspends. */
    fun askError(error: TetherException): Deferred<Decision> {
        if (hooks.onError == null) return CompletableDeferred(defaultDecision(error))
        val answer = CompletableDeferred<Decision>()
        if (events.trySend(Event.DecideError(error, answer, epoch())).isFailure) answer.complete(defaultDecision(error))
        return answer
    }

    /** The decision after [disconnect]: the user's hook if set, else the default. Never suspends. */
    fun askDisconnect(disconnect: Disconnect): Deferred<Decision> {
        if (hooks.onDisconnect == null) return CompletableDeferred(defaultDecision(disconnect))
        val answer = CompletableDeferred<Decision>()
        if (events.trySend(Event.DecideDisconnect(disconnect, answer, epoch())).isFailure) {
            answer.complete(defaultDecision(disconnect))
        }
        return answer
    }

    /**
     * Reports a non-fatal error (a dropped frame) without waiting; decided like a handler failure. Messages dropped
     * once a close was asked ([closing]) are only counted, and told once by [reportDropsWhileClosing]: a server that
     * floods a closing client must not make one `onError` call per message.
     */
    fun report(error: TetherException) {
        if (error is TetherException.MessageDropped && closing()) {
            lastDropWhileClosing = error.frame
            dropsWhileClosing.addAndGet(error.count)
            return
        }
        tell(error)
    }

    private fun tell(error: TetherException) {
        log.errorThrottled(error.javaClass.simpleName, "reported", error) // a flood of drops logs once per window
        if (hooks.onError != null) observe(Event.Error(error, epoch()), MAX_REPORTS)
    }

    private val dropsWhileClosing = AtomicLong()

    @Volatile
    private var lastDropWhileClosing: Frame? = null

    /** Tells, once, how many messages were dropped after the close was asked (see [report]); before the hooks end. */
    fun reportDropsWhileClosing() {
        val n = dropsWhileClosing.getAndSet(0)
        val last = lastDropWhileClosing ?: return
        if (n > 0) tell(TetherException.MessageDropped(last, "arrived while the client was closing", n))
    }

    /** Hands a ping to `onPing` if set; never blocks the reader (skipped while the hooks lag a full buffer behind). */
    fun observePing(payload: ByteArray) {
        if (hooks.onPing != null) observe(Event.Ping(payload, epoch()), config.incomingBuffer.capacity)
    }

    /** Hands a pong to `onPong` if set, like [observePing]. */
    fun observePong(payload: ByteArray, rtt: Duration?) {
        eventSink.emit { ConnectionEvent.Pong(it, rtt) }
        if (hooks.onPong != null) observe(Event.Pong(payload, rtt, epoch()), config.incomingBuffer.capacity)
    }

    /**
     * Hands a message to `onText`/`onBinary` if a permit is free; with a DROP policy a message that finds none is
     * dropped and reported (and counts as handled). False: SUSPEND and the hooks are a full buffer behind.
     */
    fun tryDeliver(frame: Frame): Boolean {
        if (messagePermits.tryAcquire()) {
            if (events.trySend(Event.Message(frame, epoch())).isFailure) messagePermits.release()
            return true
        }
        if (config.incomingBuffer.overflow == OverflowPolicy.SUSPEND) return false
        report(TetherException.MessageDropped(frame))
        return true
    }

    /** True when no message waits for `onText`/`onBinary` or is being handled by it. */
    val idleForMessages: Boolean
        get() = !config.hooks.consumesFrames || messagePermits.availablePermits == config.incomingBuffer.capacity

    /** Hands a message to `onText`/`onBinary`, waiting while the hooks are a full buffer behind. */
    suspend fun deliver(frame: Frame) {
        if (tryDeliver(frame)) return
        messagePermits.acquire()
        if (events.trySend(Event.Message(frame, epoch())).isFailure) messagePermits.release()
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
        val e = event.epoch
        when (event) {
            is Event.Connected -> try {
                inConnect = true
                kotlinx.coroutines.withContext(connectHook.asContextElement(this)) {
                    guarded("onConnect", e) { hooks.onConnect?.invoke(this@HookRunner, event.handshake) }
                }
            } finally {
                inConnect = false
                event.done.complete(Unit)
            }
            is Event.Message -> try {
                when (val f = event.frame) {
                    is Frame.Text -> guarded("onText", e) { hooks.onText?.invoke(this, f.text) }
                    is Frame.Binary -> guarded("onBinary", e) { hooks.onBinary?.invoke(this, f.toByteArray()) }
                    else -> Unit
                }
            } finally {
                messagePermits.release()
            }
            is Event.Ping -> try {
                guarded("onPing", e) { hooks.onPing?.invoke(this, event.payload) }
            } finally {
                observations.decrementAndGet()
            }
            is Event.Pong -> try {
                guarded("onPong", e) { hooks.onPong?.invoke(this, event.payload, event.rtt) }
            } finally {
                observations.decrementAndGet()
            }
            is Event.Error -> try {
                afterFailure(event.error, e)
            } finally {
                observations.decrementAndGet()
            }
            is Event.DecideError -> event.answer.complete(
                decide("onError", { defaultDecision(event.error) }) { hooks.onError!!.invoke(this, event.error) },
            )
            is Event.DecideDisconnect -> event.answer.complete(
                decide("onDisconnect", { defaultDecision(event.disconnect) }) {
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

    private suspend inline fun guarded(name: String, epoch: Int, block: () -> Unit) {
        try {
            block()
        } catch (e: CancellationException) {
            throw e
        } catch (e: Throwable) {
            val failed = TetherException.HandlerFailed(name, e)
            log.error("non-fatal error", failed)
            afterFailure(failed, epoch)
        }
    }

    /** Decides about [error] (already logged, by [report] or the hook's runner). */
    private suspend fun afterFailure(error: TetherException, epoch: Int) {
        val decision = if (hooks.onError == null) {
            defaultDecision(error)
        } else {
            decide("onError", { defaultDecision(error) }) { hooks.onError.invoke(this, error) }
        }
        if (decision !is Decision.Ignore) decided(Command.Decide(decision, epoch))
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

    override fun defaultDecision(error: TetherException): Decision =
        reconnectEnabled(DefaultPolicy.onError(error, config.connectProvider != null))

    override fun defaultDecision(disconnect: Disconnect): Decision = reconnectEnabled(DefaultPolicy.onDisconnect(disconnect))

    /** With reconnect disabled, a default that would reconnect or stay down closes instead: every wait ends. */
    private fun reconnectEnabled(d: Decision): Decision =
        if (!config.reconnect.enabled && (d is Decision.Reconnect || d is Decision.ReconnectAfter || d is Decision.StayDown)) {
            Decision.Close()
        } else {
            d
        }

    private companion object {
        /** The runner whose `onConnect` this thread runs (it follows the hook's coroutine from thread to thread). */
        val connectHook = ThreadLocal<HookRunner?>()

        /** The most reports (dropped frames, failed sends) that may wait for `onError`. */
        const val MAX_REPORTS = 4096
    }
}
