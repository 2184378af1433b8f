package dev.tether.internal

import dev.tether.CloseCodes
import dev.tether.Connection
import dev.tether.ConnectionEvent
import dev.tether.ConnectionState
import dev.tether.Frame
import dev.tether.OverflowPolicy
import dev.tether.TetherException
import dev.tether.TetherException.SendFailure
import dev.tether.TetherImplementationOnly
import dev.tether.WebSocketClientConfig
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.asContextElement
import kotlinx.coroutines.cancel
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.ReceiveChannel
import kotlinx.coroutines.channels.SendChannel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.receiveAsFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.coroutines.ContinuationInterceptor
import kotlin.coroutines.EmptyCoroutineContext
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource

/**
 * A supervised connection, as the application sees it ([Connection]): it builds the pieces, hands each call to the
 * one that owns it, and ends them in order ([finish]).
 *
 * - [Supervisor]: the state machine, on the `tether-connection` coroutine; the only writer of [Published].
 * - [Control]: the commands and holds (pause, gate, idleness) any thread may change.
 * - [SendPath]: `send` and `enqueue`, on the sender's thread; the [Outbox] behind it.
 * - [Inbox] and the incoming channel (or the hooks): delivery to the application (`tether-delivery`).
 * - [HookRunner]: the hooks, on `tether-hooks`, outside the connection's job.
 *
 * docs/architecture.md has the table of which piece owns which state and how the others read it.
 */
@OptIn(ExperimentalCoroutinesApi::class, TetherImplementationOnly::class) // ReceiveChannel.isEmpty
internal class RealConnection private constructor(
    private val config: WebSocketClientConfig,
    private val timeSource: TimeSource.WithComparableMarks,
    private val fleet: Fleet,
) : Connection {
    override val id: String = ConnectionIds.next()
    private val log = TetherLog(config.logErrors, config.logInfo, id, Redaction.url(config.url))
    private val eventSink = ConnectionEvents(id, Connection.EVENT_BUFFER)
    private val published = Published(eventSink)

    /** The command queue, the holds and the close request (see [Control] for its table). */
    private val control = Control(timeSource, gated = config.gate != null)

    /** Application traffic, kept only with `idleTimeout`. */
    private val activity: Activity? = if (config.idleTimeout != null) Activity(timeSource, control) else null

    override val events: SharedFlow<ConnectionEvent> get() = eventSink.events
    override val outboxDepth: Int get() = outbox.inFlight.get()
    override val incomingBacklog: Int get() = inbox.backlog
    override val state: StateFlow<ConnectionState> get() = published.state

    private val outbox: Outbox = Outbox(
        config.outgoingBuffer,
        expiring = { q -> sends.queuedFromOutgoing(q) }, // a frame on outgoing is traffic too
        onUntrackedDrop = { frame, reason -> hooks.report(TetherException.SendFailed(frame, reason)) },
        onUserClose = { code, reason -> control.requestClose(code, reason) },
        startOverflow = { overflowJob = connectionScope.launch(CoroutineNames.OVERFLOW) { outbox.runOverflow() } },
        depthCrossed = { depth -> eventSink.emit { ConnectionEvent.OutboxDepth(it, depth, config.outgoingBuffer.capacity) } },
    )
    private val hooks = HookRunner(
        config, this, outbox, log, eventSink,
        epoch = { published.epoch },
        decided = { control.decide(it) },
        closing = { control.closing },
    )
    private val sends = SendPath(config, published, outbox, hooks, eventSink, control, activity, timeSource)

    private val incomingChannel: Channel<Frame> = Channel<Frame>(
        capacity = config.incomingBuffer.capacity,
        onBufferOverflow = when (config.incomingBuffer.overflow) {
            OverflowPolicy.DROP_OLDEST -> BufferOverflow.DROP_OLDEST
            OverflowPolicy.DROP_NEWEST -> BufferOverflow.DROP_LATEST
            else -> BufferOverflow.SUSPEND
        },
        onUndeliveredElement = { if (!published.terminated) hooks.report(TetherException.MessageDropped(it)) },
    ).also {
        if (config.hooks.consumesFrames) {
            it.close(
                IllegalStateException(
                    "messages go to the onText/onBinary hooks set in the builder, not to incoming: use one or the other",
                ),
            )
        }
    }
    override val incoming: ReceiveChannel<Frame> get() = incomingChannel
    override val frames: Flow<Frame> = incomingChannel.receiveAsFlow()
    override val outgoing: SendChannel<Frame> get() = outbox.outgoing

    private val inbox: Inbox = Inbox(
        tap = config.inboundTap?.let { tap ->
            { f: Frame ->
                try {
                    tap(f)
                } catch (e: CancellationException) {
                    throw e
                } catch (e: Exception) {
                    log.error("inboundTap threw; the message goes to the application", e)
                    false
                } catch (e: Throwable) {
                    // an Error (a StackOverflowError, a missing class): this connection cannot go on, but nothing
                    // else may suffer. The reader ends the session with it; the disconnect policy decides what follows.
                    throw TetherException.HandlerFailed("inboundTap", e)
                }
            }
        },
        tryDeliver = if (config.hooks.consumesFrames) hooks::tryDeliver else { f -> incomingChannel.trySend(f).isSuccess },
        deliver = if (config.hooks.consumesFrames) hooks::deliver else ::deliverSuspending,
        dropped = { hooks.report(TetherException.MessageDropped(it)) },
        maxFrames = maxOf(config.incomingBuffer.capacity, READ_AHEAD_FRAMES),
        maxBytes = READ_AHEAD_BYTES,
        startDelivery = { deliveryJob = connectionScope.launch(CoroutineNames.DELIVERY) { inbox.run() } },
    )

    private val supervisor = Supervisor(
        config, control, published, hooks, eventSink, log, outbox, inbox, activity,
        trace = if (config.traceFrames) {
            FrameTrace(id, config.traceBinaryPayloads, config.sensitiveHeaders, config.safeToLogHeaders)
        } else {
            null
        },
        fleet, timeSource,
        allTaken = { inbox.backlog == 0 && (if (config.hooks.consumesFrames) hooks.idleForMessages else incomingChannel.isEmpty) },
    )

    /** Children of the connection's job (set in [start], before anyone can call the connection): lazy helpers run here. */
    private lateinit var connectionScope: CoroutineScope

    @Volatile
    private var deliveryJob: Job? = null

    @Volatile
    private var overflowJob: Job? = null

    /** The terminal state, as soon as it is known (before hooks have finished): what a close from a hook returns. */
    private val decided = CompletableDeferred<ConnectionState.Closed>()
    private val terminal = CompletableDeferred<ConnectionState.Closed>()
    private lateinit var job: Job

    /** Set on the threads running this connection's coroutines (hooks included): a close from there must not wait. */
    private val inside = ThreadLocal<RealConnection?>()

    /** The thread of a `runBlocking` whose scope runs this connection: a blocking close() from it must not wait. */
    @Volatile
    private var blockingLoopThread: Thread? = null

    override fun pause() = control.pause()

    override fun resume() = control.resume()

    override suspend fun send(frame: Frame): Unit = send(frame, config.outboxTimeToLive)

    override suspend fun send(frame: Frame, timeToLive: Duration?) {
        if (frame is Frame.Close) close(frame.code, frame.reason) else sends.send(frame, timeToLive)
    }

    override fun enqueue(frame: Frame): Deferred<Unit> = sends.enqueue(frame, config.outboxTimeToLive)

    override fun enqueue(frame: Frame, timeToLive: Duration?): Deferred<Unit> = sends.enqueue(frame, timeToLive)

    /** A message a codec could not decode: to `onError` and the log, like a dropped message (the connection goes on). */
    fun reportDecodeFailure(error: TetherException.DecodeFailed) {
        hooks.report(error)
    }

    override suspend fun awaitConnected(): ConnectionState.Connected {
        val s = state.first {
            it is ConnectionState.Connected || it is ConnectionState.Closed ||
                (it is ConnectionState.Down && control.downUntouched)
        }
        return when (s) {
            is ConnectionState.Connected -> s
            is ConnectionState.Down -> throw IllegalStateException("the client is $s: it waits for reconnect() or close()", s.cause)
            else -> throw IllegalStateException("the client closed before connecting: $s", (s as ConnectionState.Closed).cause)
        }
    }

    override suspend fun awaitClosed(): ConnectionState.Closed {
        job.join()
        return terminal.await()
    }

    override fun reconnect() = control.reconnect()

    override suspend fun close(code: Int, reason: String): ConnectionState.Closed {
        CloseCodes.requireValid(code, reason)
        control.requestClose(code, reason)
        // from a hook or the connection's own coroutines: the end waits for hooks, so wait only for the decision
        if (inside.get() === this) return decided.await()
        return awaitClosed()
    }

    override fun close() {
        control.requestClose(CloseCodes.NORMAL, "")
        if (inside.get() === this || Thread.currentThread() === blockingLoopThread) return
        val latch = CountDownLatch(1)
        job.invokeOnCompletion { latch.countDown() }
        val limit = config.closeTimeout + CLOSE_SLACK * 2
        if (!latch.await(limit.inWholeMilliseconds, TimeUnit.MILLISECONDS)) {
            log.error("close() stopped waiting after ${limit.readable()}: the connection's dispatcher may be blocked by the caller")
        }
    }

    override fun toString(): String = "Connection(${Redaction.url(config.url)}, ${published.current})"

    private suspend fun supervise(transport: Transport) {
        // Hooks run outside the connection's job: a hook that blocks or ignores cancellation cannot hold close().
        val hooksScope = CoroutineScope(
            currentCoroutineContext().minusKey(Job) + Job() + CoroutineNames.HOOKS +
                (config.hookDispatcher ?: EmptyCoroutineContext),
        )
        val hookJob = hooksScope.launch { hooks.run() }
        var closed: ConnectionState.Closed? = null
        try {
            coroutineScope {
                val gateJob = config.gate?.let { gate ->
                    launch(CoroutineNames.GATE) {
                        gate.collect { open -> control.gate(open) }
                    }
                }
                try {
                    closed = supervisor.run(transport, this)
                } finally {
                    gateJob?.cancel()
                    val end = closed ?: ConnectionState.Closed(CloseCodes.ABNORMAL, "cancelled", null)
                    withContext(NonCancellable) { finish(end, hookJob, hooksScope) }
                }
            }
        } finally {
            transport.close()
            hooksScope.cancel()
        }
    }

    /** The `watch { }` coroutines: they never hold a close for longer than they are busy. */
    private val watchers: Watchers? = if (config.watchers.isEmpty()) null else Watchers(log)

    /**
     * The end, in order: no more sends; delivery stops (what it read ahead goes to the application or is reported);
     * the helpers stop; every frame still queued fails with `CLOSED`; `Closed` is told; then the hooks get until the
     * close deadline to finish, and `onTerminate` runs last.
     */
    private suspend fun finish(end: ConnectionState.Closed, hookJob: Job, hooksScope: CoroutineScope) {
        published.terminated = true
        published.epoch++
        deliveryJob?.cancelAndJoin()
        inbox.flushRemaining()
        overflowJob?.cancelAndJoin()
        sends.stopExpiry()
        outbox.close()
        outbox.failOverflow()
        while (true) outbox.dropped(hooks.priority?.tryReceive()?.getOrNull() ?: break, SendFailure.CLOSED)
        incomingChannel.close()
        published.set(end)
        decided.complete(end)
        log.info("closed: ${end.code} ${end.reason}".trim())
        // even past the deadline (a close that waited its whole timeout for the server) a watcher sees the end
        watchers?.end(supervisor.closeBudget().coerceAtLeast(WATCHER_GRACE))
        hooks.reportDropsWhileClosing()
        hooks.events.close()
        if (withTimeoutOrNull(supervisor.closeBudget()) { hookJob.join() } == null) {
            log.error("hooks were still running when the close timeout ran out: cancelled")
            hookJob.cancel()
        }
        val terminate = hooksScope.launch { hooks.terminate(end) }
        if (withTimeoutOrNull(supervisor.closeBudget().coerceAtLeast(CLOSE_SLACK - WATCHER_GRACE)) { terminate.join() } == null) {
            log.error("onTerminate was still running when the close timeout ran out: cancelled")
            terminate.cancel()
        }
        terminal.complete(end)
    }

    private suspend fun deliverSuspending(frame: Frame) {
        try {
            incomingChannel.send(frame)
        } catch (e: CancellationException) {
            currentCoroutineContext().ensureActive()
            hooks.report(TetherException.MessageDropped(frame)) // the consumer cancelled the channel
        }
    }

    internal companion object {
        /** The read-ahead past the incoming buffer, in messages and bytes (see [Inbox]). */
        const val READ_AHEAD_FRAMES = 64
        const val READ_AHEAD_BYTES = 1L shl 20

        /** How much longer than the close timeout a close may take: the watchers' and `onTerminate`'s minimum time. */
        val CLOSE_SLACK: Duration = 1.seconds

        /** The least time watchers get to handle the `Closed` event and state, even past the close deadline. */
        val WATCHER_GRACE: Duration = 200.milliseconds

        fun start(
            config: WebSocketClientConfig,
            transportFactory: (WebSocketClientConfig) -> Transport,
            scope: CoroutineScope,
            ownsScope: Boolean,
            timeSource: TimeSource.WithComparableMarks = TimeSource.Monotonic,
            fleet: Fleet = Fleet(),
        ): RealConnection {
            val connection = RealConnection(config, timeSource, fleet)
            val transport = transportFactory(config)
            val interceptor = scope.coroutineContext[ContinuationInterceptor]
            if (interceptor?.javaClass?.name == "kotlinx.coroutines.BlockingEventLoop") {
                connection.blockingLoopThread = Thread.currentThread() // runBlocking { connectIn(this) }
            }
            // started only once everything it may touch is in place: its coroutines can run on another thread at once
            connection.job = scope.launch(
                CoroutineNames.CONNECTION + connection.inside.asContextElement(connection),
                start = CoroutineStart.LAZY,
            ) {
                connection.supervise(transport)
            }
            connection.connectionScope = CoroutineScope(
                scope.coroutineContext + connection.job + connection.inside.asContextElement(connection),
            )
            connection.sends.scope = connection.connectionScope
            connection.job.invokeOnCompletion {
                connection.decided.complete(ConnectionState.Closed(CloseCodes.ABNORMAL, "cancelled", null))
                connection.terminal.complete(ConnectionState.Closed(CloseCodes.ABNORMAL, "cancelled", null))
                if (ownsScope) scope.cancel()
            }
            connection.watchers?.start(scope, connection, config.watchers)
            connection.job.start()
            return connection
        }
    }
}
