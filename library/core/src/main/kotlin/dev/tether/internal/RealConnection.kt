package dev.tether.internal

import dev.tether.CloseCodes
import dev.tether.ConnectContext
import dev.tether.ConnectRequest
import dev.tether.ConnectionEvent
import dev.tether.Connection
import dev.tether.ConnectionState
import dev.tether.Decision
import dev.tether.Disconnect
import dev.tether.Frame
import dev.tether.OfflinePolicy
import dev.tether.OverflowPolicy
import dev.tether.TetherException
import dev.tether.TetherException.SendFailure
import dev.tether.WebSocketClientConfig
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.cancel
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.ReceiveChannel
import kotlinx.coroutines.channels.SendChannel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.receiveAsFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.selects.onTimeout
import kotlinx.coroutines.selects.select
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.asContextElement
import kotlinx.coroutines.cancelAndJoin
import java.util.concurrent.CountDownLatch
import java.util.concurrent.atomic.AtomicReference
import kotlin.time.ComparableTimeMark
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource

/**
 * The supervised connection: one coroutine (`tether-connection`) owns the state machine
 * connect provider → handshake → run → disconnect → decision → backoff → …. It is the only writer of [state] and
 * reads every [Command] (close, reconnect, a hook's decision) from one queue, in every state. It talks to the reader,
 * writer, keepalive, delivery and hooks coroutines only through channels and deferreds.
 */
@OptIn(ExperimentalCoroutinesApi::class, dev.tether.TetherImplementationOnly::class) // getCompleted, onTimeout
internal class RealConnection private constructor(
    private val config: WebSocketClientConfig,
    private val timeSource: TimeSource.WithComparableMarks,
    private val fleet: Fleet,
) : Connection {
    /** The command queue, the holds and the close request (see [Control] for its table). */
    private val control = Control(timeSource, gated = config.gate != null)

    /** When the application last sent or received a message; kept only with `idleTimeout`. */
    @Volatile
    private var lastActivity: ComparableTimeMark? = null
    private val trackActivity = config.idleTimeout != null

    /** Failed attempts, for the circuit breaker (the supervisor's only). */
    private val circuit = CircuitBreaker(config.reconnect.circuitFailures, config.reconnect.circuitWindow, timeSource)

    /** Why the connection must not run now, or null. */
    private fun holdReason(): dev.tether.PauseReason? = control.holdReason()

    /** Application traffic: ends an idle pause. */
    private fun activity() {
        lastActivity = timeSource.markNow()
        control.activity()
    }

    override fun pause() = control.pause()

    override fun resume() = control.resume()

    /** This connection's [dev.tether.Jitter.SPREAD] factor for the current streak of attempts (drawn at attempt 1). */
    private var streakSpread = 1.0

    override val id: String = ConnectionIds.next()
    private val log = TetherLog(config.logErrors, config.logInfo, id, Redaction.url(config.url))
    private val eventSink = ConnectionEvents(id, dev.tether.Connection.EVENT_BUFFER)
    override val events: kotlinx.coroutines.flow.SharedFlow<dev.tether.ConnectionEvent> get() = eventSink.events
    override val outboxDepth: Int get() = outbox.inFlight.get()
    override val incomingBacklog: Int get() = inbox.backlog
    private val trace: FrameTrace? =
        if (config.traceFrames) FrameTrace(id, config.traceBinaryPayloads, config.sensitiveHeaders, config.safeToLogHeaders) else null
    /** The state before the first attempt; the first attempt reuses it, so the state flow tells it once. */
    private val initialState = ConnectionState.Connecting(0)
    private val _state = MutableStateFlow<ConnectionState>(initialState)

    override val state: StateFlow<ConnectionState> = _state.asStateFlow()

    /**
     * Every transition: the event stream (never conflated) first, then the state flow (conflated), so that whoever
     * starts collecting events after seeing a state never gets that state's event late.
     */
    private fun setState(s: ConnectionState) {
        eventSink.state(s)
        _state.value = s
    }

    @Volatile
    private var terminated = false

    /** Bumped by the supervisor when a session starts and when it ends; hook decisions carry the one they were taken in. */
    @Volatile
    private var epoch = 0

    private val outbox: Outbox = Outbox(
        config.outgoingBuffer,
        expiring = { q ->
            if (trackActivity) activity() // a frame on outgoing is traffic too
            config.outboxTimeToLive?.let { expiry.add(q, it) }
        },
        onUntrackedDrop = { frame, reason -> hooks.report(TetherException.SendFailed(frame, reason)) },
        onUserClose = { code, reason -> requestClose(code, reason) },
        startOverflow = { overflowJob = connectionScope.launch(CoroutineName("tether-overflow")) { outbox.runOverflow() } },
        depthCrossed = { depth -> eventSink.emit { ConnectionEvent.OutboxDepth(it, depth, config.outgoingBuffer.capacity) } },
    )
    private val hooks = HookRunner(
        config, this, outbox, log, eventSink,
        epoch = { epoch },
        decided = { control.decide(it) },
        closing = { control.closing },
    )

    private val incomingChannel: Channel<Frame> = Channel<Frame>(
        capacity = config.incomingBuffer.capacity,
        onBufferOverflow = when (config.incomingBuffer.overflow) {
            OverflowPolicy.DROP_OLDEST -> BufferOverflow.DROP_OLDEST
            OverflowPolicy.DROP_NEWEST -> BufferOverflow.DROP_LATEST
            else -> BufferOverflow.SUSPEND
        },
        onUndeliveredElement = { if (!terminated) hooks.report(TetherException.MessageDropped(it)) },
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
        startDelivery = { deliveryJob = connectionScope.launch(CoroutineName("tether-delivery")) { inbox.run() } },
    )

    private val expiry: Expiry by lazy { // only connections that use a time to live pay for it
        Expiry(
            timeSource,
            start = {
                // a send racing the end may get here after finish(): then nothing is left to expire
                synchronized(this) {
                    if (!terminated) expiryJob = connectionScope.launch(CoroutineName("tether-expiry")) { expiry.run() }
                }
            },
            expired = { outbox.expired(it) },
        )
    }

    /** Children of the connection's job (set in [start], before anyone can call the connection): lazy helpers run here. */
    private lateinit var connectionScope: CoroutineScope

    @Volatile
    private var deliveryJob: Job? = null

    @Volatile
    private var overflowJob: Job? = null

    /** The expiry sweeper, once a frame with a time to live was queued; it loops until [finish] cancels it. */
    @Volatile
    private var expiryJob: Job? = null

    /** The running session while connected, for sends that can be written at once. */
    @Volatile
    private var live: SessionRunner? = null

    /** The terminal state, as soon as it is known (before hooks have finished): what a close from a hook returns. */
    private val decided = CompletableDeferred<ConnectionState.Closed>()
    private val terminal = CompletableDeferred<ConnectionState.Closed>()
    private lateinit var job: Job

    /** Set on the threads running this connection's coroutines (hooks included): a close from there must not wait. */
    private val inside = ThreadLocal<RealConnection?>()

    /** The thread of a `runBlocking` whose scope runs this connection: a blocking close() from it must not wait. */
    @Volatile
    private var blockingLoopThread: Thread? = null

    override suspend fun send(frame: Frame): Unit = send(frame, config.outboxTimeToLive)

    override suspend fun send(frame: Frame, timeToLive: Duration?) {
        if (frame is Frame.Close) {
            close(frame.code, frame.reason)
            return
        }
        if (terminated) refuse(frame, SendFailure.CLOSED)
        if (config.offlinePolicy == OfflinePolicy.REJECT && _state.value !is ConnectionState.Connected) {
            refuse(frame, SendFailure.NOT_CONNECTED)
        }
        require(timeToLive == null || timeToLive.isPositive()) { "timeToLive must be positive or null, was $timeToLive" }
        if (trackActivity) activity()
        if (hooks.callerIsOnConnect()) return hooks.enqueueFirst(frame).await() // it goes first, at once
        live?.let { if (it.tryWriteNow(frame)) return }
        val tracked = Tracked(frame, eventSink)
        if (timeToLive != null) expiry.add(tracked, timeToLive)
        try {
            outbox.enqueue(tracked)
            tracked.written.await()
        } catch (e: CancellationException) {
            tracked.cancelled = true // not written yet: the writer will skip it
            throw e
        }
    }

    /** A message a codec could not decode: to `onError` and the log, like a dropped message (the connection goes on). */
    fun reportDecodeFailure(error: TetherException.DecodeFailed) {
        hooks.report(error)
    }

    /** A send refused before it was queued: told to the event stream, thrown to the sender. */
    private fun refuse(frame: Frame, reason: SendFailure): Nothing {
        eventSink.emit { ConnectionEvent.SendFailed(it, reason) }
        throw TetherException.SendFailed(frame, reason)
    }

    override fun enqueue(frame: Frame): Deferred<Unit> = enqueue(frame, config.outboxTimeToLive)

    override fun enqueue(frame: Frame, timeToLive: Duration?): Deferred<Unit> {
        require(timeToLive == null || timeToLive.isPositive()) { "timeToLive must be positive or null, was $timeToLive" }
        if (frame is Frame.Close) {
            CloseCodes.requireValid(frame.code, frame.reason)
            requestClose(frame.code, frame.reason)
            return CompletableDeferred(Unit)
        }
        if (!terminated && hooks.callerIsOnConnect()) return hooks.enqueueFirst(frame)
        val tracked = Tracked(frame, eventSink)
        if (trackActivity) activity()
        when {
            terminated -> tracked.fail(SendFailure.CLOSED)
            config.offlinePolicy == OfflinePolicy.REJECT && _state.value !is ConnectionState.Connected ->
                tracked.fail(SendFailure.NOT_CONNECTED)
            live?.tryWriteNow(tracked) == true -> Unit
            else -> {
                if (timeToLive != null) expiry.add(tracked, timeToLive)
                outbox.enqueueNow(tracked)
            }
        }
        return tracked.written
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

    private fun requestClose(code: Int, reason: String) = control.requestClose(code, reason)

    override suspend fun close(code: Int, reason: String): ConnectionState.Closed {
        CloseCodes.requireValid(code, reason)
        requestClose(code, reason)
        // from a hook or the connection's own coroutines: the end waits for hooks, so wait only for the decision
        if (inside.get() === this) return decided.await()
        return awaitClosed()
    }

    override fun close() {
        requestClose(CloseCodes.NORMAL, "")
        if (inside.get() === this || Thread.currentThread() === blockingLoopThread) return
        val latch = CountDownLatch(1)
        job.invokeOnCompletion { latch.countDown() }
        val limit = config.closeTimeout + CLOSE_SLACK * 2
        if (!latch.await(limit.inWholeMilliseconds, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            log.error("close() stopped waiting after $limit: the connection's dispatcher may be blocked by the caller")
        }
    }

    override fun toString(): String = "Connection(${Redaction.url(config.url)}, ${_state.value})"

    /** The time left until the close deadline (a full close timeout when no close was asked for). */
    private fun closeBudget(): Duration = control.closeBudget(config.closeTimeout)

    private suspend fun supervise(transport: Transport) {
        // Hooks run outside the connection's job: a hook that blocks or ignores cancellation cannot hold close().
        val hooksScope = CoroutineScope(
            currentCoroutineContext().minusKey(Job) + Job() + CoroutineName("tether-hooks") +
                (config.hookDispatcher ?: kotlin.coroutines.EmptyCoroutineContext),
        )
        val hookJob = hooksScope.launch { hooks.run() }
        var closed: ConnectionState.Closed? = null
        try {
            coroutineScope {
                val gateJob = config.gate?.let { gate ->
                    launch(CoroutineName("tether-gate")) {
                        gate.collect { open -> control.gate(open) }
                    }
                }
                try {
                    closed = loop(transport, this)
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

    private suspend fun finish(end: ConnectionState.Closed, hookJob: Job, hooksScope: CoroutineScope) {
        synchronized(this) { terminated = true } // from here on no expiry sweeper starts (see expiry)
        epoch++
        deliveryJob?.cancelAndJoin()
        inbox.flushRemaining()
        overflowJob?.cancelAndJoin()
        expiryJob?.cancelAndJoin() // it sleeps until the next deadline for ever: the connection's job would never end
        outbox.close()
        outbox.failOverflow()
        while (true) outbox.dropped(hooks.priority?.tryReceive()?.getOrNull() ?: break, SendFailure.CLOSED)
        incomingChannel.close()
        setState(end)
        decided.complete(end)
        log.info("closed: ${end.code} ${end.reason}".trim())
        // even past the deadline (a close that waited its whole timeout for the server) a watcher sees the end
        watchers?.end(closeBudget().coerceAtLeast(WATCHER_GRACE))
        hooks.reportDropsWhileClosing()
        hooks.events.close()
        if (withTimeoutOrNull(closeBudget()) { hookJob.join() } == null) {
            log.error("hooks were still running when the close timeout ran out: cancelled")
            hookJob.cancel()
        }
        val terminate = hooksScope.launch { hooks.terminate(end) }
        if (withTimeoutOrNull(closeBudget().coerceAtLeast(CLOSE_SLACK - WATCHER_GRACE)) { terminate.join() } == null) {
            log.error("onTerminate was still running when the close timeout ran out: cancelled")
            terminate.cancel()
        }
        terminal.complete(end)
    }

    private sealed class Outcome {
        class Ok(val session: TransportSession) : Outcome()
        class Failed(val error: TetherException) : Outcome()
        class Stopped(val closed: ConnectionState.Closed) : Outcome()
        class Down(val cause: TetherException?) : Outcome()

        /** Paused (by the application, the gate or idleness) while connecting. */
        object Held : Outcome()
    }

    private sealed class Next {
        class Go(val attempt: Int) : Next()
        class Stop(val closed: ConnectionState.Closed) : Next()
    }

    /** The state machine; [scope] holds the attempts' and sessions' I/O. Returns the terminal state. */
    private suspend fun loop(transport: Transport, scope: CoroutineScope): ConnectionState.Closed {
        var attempt = 0
        while (true) {
            holdReason()?.let { reason ->
                paused(reason)?.let { return it } // a close while paused ends the client
            }
            if (control.takeReset()) attempt = 0
            hooks.attempt = attempt
            log.attempt = attempt
            setState(if (attempt == 0 && _state.value === initialState) initialState else ConnectionState.Connecting(attempt))
            val next: Next = when (val outcome = connectRacingCommands(transport, attempt, scope)) {
                is Outcome.Stopped -> Next.Stop(outcome.closed)
                is Outcome.Held -> Next.Go(attempt)
                is Outcome.Down -> stayDown(outcome.cause, null)
                is Outcome.Failed -> {
                    eventSink.emit { ConnectionEvent.ConnectFailed(it, attempt, outcome.error) }
                    val failures = circuit.failed()
                    if (failures != null) {
                        log.error("circuit breaker open: $failures failed attempts within ${config.reconnect.circuitWindow}", outcome.error)
                        stayDown(TetherException.CircuitOpen(failures, config.reconnect.circuitWindow, outcome.error), null)
                    } else {
                        log.error("connect attempt $attempt failed", outcome.error)
                        val refusal = outcome.error as? TetherException.HandshakeFailed
                        val retryAfter = refusal?.retryAfter
                        if (retryAfter != null && (refusal.status == 503 || refusal.status == 429)) {
                            fleet.holdOff(timeSource.markNow(), retryAfter) // for every connection of this client
                        }
                        decideNext(hooks.askError(outcome.error), attempt, outcome.error, null)
                    }
                }
                is Outcome.Ok -> {
                    val result = runSession(outcome.session, attempt)
                    val d = result.disconnect
                    log.info("disconnected: ${d.code} ${d.reason} after ${d.uptime}")
                    eventSink.emit { ConnectionEvent.Disconnected(it, d) }
                    if (d.uptime >= config.reconnect.stableAfter) attempt = 0
                    val forced = result.forced
                    when {
                        // held while connected: Paused is shown even when the hold ended during the closing
                        // handshake (lifecycle.md), then it connects afresh
                        result.pausedFor != null ->
                            paused(holdReason() ?: result.pausedFor)?.let { Next.Stop(it) } ?: Next.Go(attempt)
                        forced is Decision.Close -> Next.Stop(ConnectionState.Closed(d.code, d.reason, null))
                        forced == null -> decideNext(hooks.askDisconnect(d), attempt, d.cause, d)
                        else -> decideNext(CompletableDeferred(forced), attempt, d.cause, d)
                    }
                }
            }
            when (next) {
                is Next.Stop -> return next.closed
                is Next.Go -> attempt = next.attempt
            }
        }
    }

    private suspend fun runSession(session: TransportSession, attempt: Int): SessionResult {
        val myEpoch = ++epoch
        val connectDone = CompletableDeferred<Unit>()
        val runner = SessionRunner(
            config = config,
            session = session,
            outbox = outbox,
            priority = hooks.priority,
            connectDone = connectDone,
            hooks = hooks,
            inbox = inbox,
            control = control,
            epoch = myEpoch,
            closeBudget = ::closeBudget,
            onClosing = { code, reason -> setState(ConnectionState.Closing(code, reason)) },
            requestClose = ::requestClose,
            lastActivity = { lastActivity },
            activity = ::activity,
            timeSource = timeSource,
            log = log,
            allTaken = {
                inbox.backlog == 0 && (if (config.hooks.consumesFrames) hooks.idleForMessages else incomingChannel.isEmpty)
            },
        )
        live = runner
        setState(ConnectionState.Connected(attempt, session.handshake))
        log.info("connected to ${session.handshake.url}" + (session.handshake.subprotocol?.let { " ($it)" } ?: ""))
        hooks.connected(session.handshake, connectDone)
        return try {
            runner.run()
        } finally {
            live = null
            epoch++
            // what onConnect sent but could not be written belonged to that connection: its next onConnect sends again
            while (true) outbox.dropped(hooks.priority?.tryReceive()?.getOrNull() ?: break, SendFailure.CONNECTION_LOST)
        }.also {
            if (config.offlinePolicy == OfflinePolicy.REJECT) outbox.failQueued(SendFailure.NOT_CONNECTED)
        }
    }

    private suspend fun deliverSuspending(frame: Frame) {
        try {
            incomingChannel.send(frame)
        } catch (e: CancellationException) {
            currentCoroutineContext().ensureActive()
            hooks.report(TetherException.MessageDropped(frame)) // the consumer cancelled the channel
        }
    }

    /** Connects, reading commands meanwhile: a close (or a hook's StayDown for this epoch) cancels the attempt. */
    private suspend fun connectRacingCommands(transport: Transport, attempt: Int, scope: CoroutineScope): Outcome {
        val myEpoch = epoch
        // The session the engine opened, as soon as it did: an attempt cancelled (or timed out) just as the engine
        // hands it back completes without it, and it must then be closed here, or its socket stays open for good.
        val opened = AtomicReference<TransportSession?>()
        val pending = scope.async(CoroutineName("tether-connect")) {
            try {
                Outcome.Ok(connectOnce(transport, attempt, scope, opened))
            } catch (e: TetherException) {
                opened.getAndSet(null)?.abort() // the connect timeout ran out just as the engine answered
                Outcome.Failed(e)
            }
        }
        pending.invokeOnCompletion { cause -> if (cause != null) opened.getAndSet(null)?.abort() }
        while (true) {
            val outcome = select<Outcome?> {
                pending.onAwait { it }
                control.onCommand { cmd ->
                    when (val v = control.verdict(cmd, Control.Phase.CONNECTING, myEpoch)) {
                        is Control.Verdict.Stop -> Outcome.Stopped(ConnectionState.Closed(v.code, v.reason, null))
                        is Control.Verdict.Hold -> Outcome.Held
                        Control.Verdict.StayDown -> Outcome.Down(null)
                        Control.Verdict.Go, is Control.Verdict.Decided, Control.Verdict.Ignore -> null // already connecting
                    }
                }
            } ?: continue
            if (outcome is Outcome.Stopped || outcome is Outcome.Down || outcome is Outcome.Held) {
                pending.cancel()
                (runCatching { pending.getCompleted() }.getOrNull() as? Outcome.Ok)?.session?.abort()
            }
            return outcome
        }
    }

    private suspend fun connectOnce(
        transport: Transport,
        attempt: Int,
        scope: CoroutineScope,
        opened: AtomicReference<TransportSession?>,
    ): TransportSession {
        val defaults = ConnectRequest(config.url, config.headers, config.subprotocols)
        var url = defaults.url
        try {
            return withTimeout(config.connectTimeout) {
                val request = config.connectProvider?.let { provider ->
                    try {
                        provider(ConnectContext(attempt, defaults))
                    } catch (e: CancellationException) {
                        throw e
                    } catch (e: Throwable) {
                        throw TetherException.HandlerFailed("connectWith", e)
                    }
                } ?: defaults
                url = request.url
                log.info("connecting to ${Redaction.url(request.url)} (attempt $attempt)")
                trace?.request(request.url, request.headers)
                val session = transport.open(request, scope)
                opened.set(session)
                trace?.response(session.handshake.status, session.handshake.headers)
                ObservedSession(session, trace, eventSink)
            }
        } catch (e: TimeoutCancellationException) {
            throw TetherException.ConnectFailed(Redaction.url(url), TetherException.ConnectFailure.TIMEOUT, e)
        }
    }

    /**
     * Waits for a hook's [answer] while reading commands: a close ends the client at once (the hook is left to
     * finish, or is cancelled at the end), `reconnect()` connects at once.
     */
    private suspend fun decideNext(
        answer: Deferred<Decision>,
        attempt: Int,
        cause: TetherException?,
        disconnect: Disconnect?,
    ): Next {
        val myEpoch = epoch
        var closeAsked = false // the decision is a close() command: Closed carries the code that was asked for
        val decision: Decision = if (answer.isCompleted) {
            answer.getCompleted()
        } else {
            var d: Decision? = null
            while (d == null) {
                d = select<Decision?> {
                    answer.onAwait { it }
                    control.onCommand { cmd ->
                        when (val v = control.verdict(cmd, Control.Phase.DECIDING, myEpoch)) {
                            is Control.Verdict.Stop -> Decision.Close(v.code, v.reason).also { closeAsked = true }
                            Control.Verdict.Go -> Decision.ReconnectAfter(Duration.ZERO) // held: the loop's top pauses
                            Control.Verdict.StayDown -> Decision.StayDown
                            is Control.Verdict.Hold, is Control.Verdict.Decided, Control.Verdict.Ignore -> null
                        }
                    }
                }
            }
            d
        }
        return when (decision) {
            is Decision.Close -> Next.Stop(
                if (closeAsked) {
                    ConnectionState.Closed(decision.code, decision.reason, cause)
                } else if (disconnect == null && decision.code == CloseCodes.NORMAL && decision.reason.isEmpty()) {
                    // a plain Close() (the default with reconnect off, or a hook's) after an attempt that failed: no
                    // WebSocket existed, so no close code was sent or received
                    ConnectionState.Closed(CloseCodes.ABNORMAL, cause?.message ?: "", cause)
                } else {
                    ConnectionState.Closed(disconnect?.code ?: decision.code, disconnect?.reason ?: decision.reason, cause)
                },
            )
            is Decision.StayDown -> stayDown(cause, disconnect)
            is Decision.Reconnect, is Decision.Ignore, is Decision.ReconnectAfter -> backoff(decision, attempt, cause, disconnect)
        }
    }

    /**
     * Paused for [reason] until nothing holds the connection any more (then returns null, and the loop connects with
     * a fresh attempt count), or until a close (returns the terminal state). Shows `Paused` even when nothing holds
     * it by now (a hold that ended while the link was closing for it).
     */
    private suspend fun paused(reason: dev.tether.PauseReason): ConnectionState.Closed? {
        var shown = reason
        setState(ConnectionState.Paused(shown))
        log.info("paused (${shown.name.lowercase()})")
        while (holdReason() != null) {
            // Reconnect while paused: resume() is the way back; Lifecycle: look again
            val v = control.verdict(control.next(), Control.Phase.PAUSED, epoch)
            if (v is Control.Verdict.Stop) return ConnectionState.Closed(v.code, v.reason, null)
            val now = holdReason() ?: break
            if (now != shown) {
                shown = now
                setState(ConnectionState.Paused(now))
            }
        }
        control.resetLater()
        return null
    }

    private suspend fun stayDown(cause: TetherException?, disconnect: Disconnect?): Next {
        control.goingDown()
        setState(ConnectionState.Down(cause, disconnect))
        log.info("down: not reconnecting until reconnect() is called")
        val myEpoch = epoch
        while (true) {
            val next = select<Next?> {
                control.onCommand { cmd ->
                    when (val v = control.verdict(cmd, Control.Phase.DOWN, myEpoch)) {
                        is Control.Verdict.Stop -> Next.Stop(ConnectionState.Closed(v.code, v.reason, cause))
                        Control.Verdict.Go -> Next.Go(0) // held: the loop's top pauses
                        is Control.Verdict.Hold, Control.Verdict.StayDown, is Control.Verdict.Decided, Control.Verdict.Ignore -> null
                    }
                }
            }
            if (next != null) return next
        }
    }

    private suspend fun backoff(decision: Decision, attempt: Int, cause: TetherException?, disconnect: Disconnect?): Next {
        val closedCode = disconnect?.code ?: CloseCodes.ABNORMAL
        val closedReason = disconnect?.reason ?: (cause?.message ?: "")
        val next = attempt + 1
        val max = config.reconnect.maxAttempts
        if (max != null && next > max) {
            log.error("giving up after $attempt reconnect attempts")
            return Next.Stop(ConnectionState.Closed(closedCode, closedReason, TetherException.ReconnectExhausted(attempt, cause)))
        }
        if (next == 1) streakSpread = config.reconnect.backoff.drawSpread(config.reconnect.random)
        val own: Duration = (decision as? Decision.ReconnectAfter)?.delay
            ?: config.reconnect.delayFor(next, streakSpread).coerceAtLeast(Duration.ZERO)
        // no shortcut for a zero delay (ReconnectAfter(ZERO), reconnect() while a hook decides): Reconnecting is told
        // first, as lifecycle.md's tables say, and the wait below ends at once
        val delay = maxOf(own, fleet.wait()) // a Retry-After another connection of this client got holds this one too
        setState(ConnectionState.Reconnecting(next, delay, cause, disconnect))
        log.info("reconnecting in $delay (attempt $next)")
        val myEpoch = epoch
        val until = timeSource.markNow() + delay
        while (true) {
            val left = maxOf((-until.elapsedNow()).coerceAtLeast(Duration.ZERO), fleet.wait())
            val step = select<Next?> {
                control.onCommand { cmd ->
                    when (val v = control.verdict(cmd, Control.Phase.BACKING_OFF, myEpoch)) {
                        is Control.Verdict.Stop -> Next.Stop(ConnectionState.Closed(v.code, v.reason, cause))
                        // held: the loop's top pauses; released (the gate opened, resume()): connect now, afresh
                        Control.Verdict.Go -> Next.Go(next)
                        Control.Verdict.StayDown -> stayDown(cause, disconnect)
                        is Control.Verdict.Hold, is Control.Verdict.Decided, Control.Verdict.Ignore -> null
                    }
                }
                onTimeout(left) { if (fleet.wait() > Duration.ZERO) null else Next.Go(next) }
            }
            if (step != null) return step
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
            val interceptor = scope.coroutineContext[kotlin.coroutines.ContinuationInterceptor]
            if (interceptor?.javaClass?.name == "kotlinx.coroutines.BlockingEventLoop") {
                connection.blockingLoopThread = Thread.currentThread() // runBlocking { connectIn(this) }
            }
            // started only once everything it may touch is in place: its coroutines can run on another thread at once
            connection.job = scope.launch(
                CoroutineName("tether-connection") + connection.inside.asContextElement(connection),
                start = CoroutineStart.LAZY,
            ) {
                connection.supervise(transport)
            }
            connection.connectionScope = CoroutineScope(
                scope.coroutineContext + connection.job + connection.inside.asContextElement(connection),
            )
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
