package dev.tether.internal

import dev.tether.CloseCodes
import dev.tether.ConnectContext
import dev.tether.ConnectRequest
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
import java.util.concurrent.CountDownLatch
import kotlin.time.Duration
import kotlin.time.TimeSource

/**
 * The supervised connection: one coroutine (`tether-connection`) owns the state machine
 * connect provider → handshake → run → disconnect → decision → backoff → …, and talks to the reader, writer,
 * keepalive and hooks coroutines only through channels and deferreds.
 */
@OptIn(ExperimentalCoroutinesApi::class) // Deferred.getCompleted, select's onTimeout
internal class RealConnection private constructor(
    private val config: WebSocketClientConfig,
    private val timeSource: TimeSource.WithComparableMarks,
) : Connection {
    private val log = TetherLog(config.logErrors, config.logInfo, Redaction.url(config.url))
    private val _state = MutableStateFlow<ConnectionState>(ConnectionState.Connecting(0))
    override val state: StateFlow<ConnectionState> = _state.asStateFlow()

    @Volatile
    private var terminated = false

    private val outbox: Outbox = Outbox(
        config.outgoingBuffer,
        onUntrackedDrop = { frame, reason -> hooks.report(TetherException.SendFailed(frame, reason)) },
        onUserClose = { closeRequest.complete(Decision.Close()) },
    )
    private val hooks = HookRunner(config, this, outbox, log)

    private val incomingChannel: Channel<Frame> = Channel(
        capacity = config.incomingBuffer.capacity,
        onBufferOverflow = when (config.incomingBuffer.overflow) {
            OverflowPolicy.DROP_OLDEST -> BufferOverflow.DROP_OLDEST
            OverflowPolicy.DROP_NEWEST -> BufferOverflow.DROP_LATEST
            else -> BufferOverflow.SUSPEND
        },
        onUndeliveredElement = { if (!terminated) hooks.report(TetherException.MessageDropped(it)) },
    )
    override val incoming: ReceiveChannel<Frame> get() = incomingChannel
    override val frames: Flow<Frame> = incomingChannel.receiveAsFlow()
    override val outgoing: SendChannel<Frame> get() = outbox.outgoing

    private val closeRequest = CompletableDeferred<Decision.Close>()

    /** The running session while connected, for sends that can be written at once. */
    @Volatile
    private var live: SessionRunner? = null
    private val wake = Channel<Unit>(Channel.CONFLATED)
    private val terminal = CompletableDeferred<ConnectionState.Closed>()
    private lateinit var job: Job

    override suspend fun send(frame: Frame) {
        if (frame is Frame.Close) {
            close(frame.code, frame.reason)
            return
        }
        if (terminated) throw TetherException.SendFailed(frame, SendFailure.CLOSED)
        if (config.offlinePolicy == OfflinePolicy.REJECT && _state.value !is ConnectionState.Connected) {
            throw TetherException.SendFailed(frame, SendFailure.NOT_CONNECTED)
        }
        live?.let { if (it.tryWriteNow(frame)) return }
        val tracked = Tracked(frame)
        try {
            outbox.enqueue(tracked)
            tracked.written.await()
        } catch (e: CancellationException) {
            tracked.cancelled = true // not written yet: the writer will skip it
            throw e
        }
    }

    override suspend fun awaitConnected(): ConnectionState.Connected {
        val s = state.first { it is ConnectionState.Connected || it is ConnectionState.Closed }
        check(s is ConnectionState.Connected) { "the client closed before connecting: $s" }
        return s
    }

    override suspend fun awaitClosed(): ConnectionState.Closed {
        job.join()
        return terminal.await()
    }

    override fun reconnect() {
        when (_state.value) {
            is ConnectionState.Down, is ConnectionState.Reconnecting -> wake.trySend(Unit)
            is ConnectionState.Connected -> hooks.decisions.trySend(Decision.Reconnect)
            else -> Unit
        }
    }

    override suspend fun close(code: Int, reason: String): ConnectionState.Closed {
        CloseCodes.requireValid(code, reason)
        closeRequest.complete(Decision.Close(code, reason))
        return awaitClosed()
    }

    override fun close() {
        closeRequest.complete(Decision.Close())
        val latch = CountDownLatch(1)
        job.invokeOnCompletion { latch.countDown() }
        latch.await()
    }

    override fun toString(): String = "Connection(${Redaction.url(config.url)}, ${_state.value})"

    private suspend fun supervise(transport: Transport) {
        var closed: ConnectionState.Closed? = null
        try {
            coroutineScope {
                val hookJob = launch(CoroutineName("tether-hooks")) { hooks.run() }
                try {
                    closed = loop(transport, this)
                } finally {
                    val end = closed ?: ConnectionState.Closed(CloseCodes.ABNORMAL, "cancelled", null)
                    withContext(NonCancellable) { finish(end, hookJob) }
                }
            }
        } finally {
            transport.close()
        }
    }

    private suspend fun finish(end: ConnectionState.Closed, hookJob: Job) {
        terminated = true
        outbox.close()
        incomingChannel.close()
        _state.value = end
        log.info("closed: ${end.code} ${end.reason}".trim())
        hooks.events.close()
        if (withTimeoutOrNull(config.closeTimeout) { hookJob.join() } == null) hookJob.cancel()
        withTimeoutOrNull(config.closeTimeout) { hooks.terminate(end) }
        terminal.complete(end)
    }

    private sealed class Outcome {
        class Ok(val session: TransportSession) : Outcome()
        class Failed(val error: TetherException) : Outcome()
        class CloseWon(val close: Decision.Close) : Outcome()
    }

    private sealed class Next {
        class Go(val attempt: Int) : Next()
        class Stop(val closed: ConnectionState.Closed) : Next()
    }

    /** The state machine; [scope] holds the attempts' and sessions' I/O. Returns the terminal state. */
    private suspend fun loop(transport: Transport, scope: CoroutineScope): ConnectionState.Closed {
        var attempt = 0
        while (true) {
            wake.tryReceive()
            hooks.attempt = attempt
            _state.value = ConnectionState.Connecting(attempt)
            val outcome = connectRacingClose(transport, attempt, scope)
            val next: Next = when (outcome) {
                is Outcome.CloseWon -> Next.Stop(ConnectionState.Closed(outcome.close.code, outcome.close.reason, null))
                is Outcome.Failed -> {
                    log.error("connect attempt $attempt failed", outcome.error)
                    decideNext(hooks.decideError(outcome.error), attempt, outcome.error, null)
                }
                is Outcome.Ok -> {
                    val result = runSession(outcome.session, attempt)
                    val d = result.disconnect
                    log.info("disconnected: ${d.code} ${d.reason} after ${d.uptime}")
                    if (d.uptime >= config.reconnect.stableAfter) attempt = 0
                    when (val forced = result.forced) {
                        is Decision.Close -> Next.Stop(ConnectionState.Closed(d.code, d.reason, null))
                        null -> decideNext(hooks.decideDisconnect(d), attempt, d.cause, d)
                        else -> decideNext(forced, attempt, d.cause, d)
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
        _state.value = ConnectionState.Connected(attempt, session.handshake)
        log.info("connected to ${session.handshake.url}" + (session.handshake.subprotocol?.let { " ($it)" } ?: ""))
        if (config.hooks.onConnect != null) hooks.events.send(HookRunner.Event.Connected(session.handshake))
        val runner = SessionRunner(
            config = config,
            session = session,
            outbox = outbox,
            hooks = hooks,
            deliver = if (config.hooks.consumesFrames) hooks::deliver else ::deliverToIncoming,
            closeRequest = closeRequest,
            requestClose = { closeRequest.complete(Decision.Close(it.code, it.reason)) },
            onClosing = { code, reason -> _state.value = ConnectionState.Closing(code, reason) },
            timeSource = timeSource,
            log = log,
        )
        live = runner
        return try {
            runner.run()
        } finally {
            live = null
        }.also {
            if (config.offlinePolicy == OfflinePolicy.REJECT) outbox.failQueued(SendFailure.NOT_CONNECTED)
        }
    }

    private suspend fun deliverToIncoming(frame: Frame) {
        // the common case, room in the buffer, needs no suspension (and no continuation)
        if (incomingChannel.trySend(frame).isSuccess) return
        deliverSuspending(frame)
    }

    private suspend fun deliverSuspending(frame: Frame) {
        try {
            incomingChannel.send(frame)
        } catch (e: CancellationException) {
            currentCoroutineContext().ensureActive()
            hooks.report(TetherException.MessageDropped(frame)) // the consumer cancelled the channel
        }
    }

    private suspend fun connectRacingClose(transport: Transport, attempt: Int, scope: CoroutineScope): Outcome {
        val pending = scope.async(CoroutineName("tether-connect")) {
            try {
                Outcome.Ok(connectOnce(transport, attempt, scope))
            } catch (e: TetherException) {
                Outcome.Failed(e)
            }
        }
        return select {
            pending.onAwait { it }
            closeRequest.onAwait { close ->
                pending.cancel()
                Outcome.CloseWon(close)
            }
        }.also { if (it is Outcome.CloseWon) (runCatching { pending.getCompleted() }.getOrNull() as? Outcome.Ok)?.session?.abort() }
    }

    private suspend fun connectOnce(transport: Transport, attempt: Int, scope: CoroutineScope): TransportSession {
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
                transport.open(request, scope)
            }
        } catch (e: TimeoutCancellationException) {
            throw TetherException.ConnectFailed(Redaction.url(url), TetherException.ConnectFailure.TIMEOUT, e)
        }
    }

    private suspend fun decideNext(
        decision: Decision,
        attempt: Int,
        cause: TetherException?,
        disconnect: Disconnect?,
    ): Next {
        val closedCode = disconnect?.code ?: CloseCodes.ABNORMAL
        val closedReason = disconnect?.reason ?: (cause?.message ?: "")
        return when (decision) {
            is Decision.Close -> Next.Stop(
                ConnectionState.Closed(disconnect?.code ?: decision.code, disconnect?.reason ?: decision.reason, cause),
            )
            is Decision.StayDown -> {
                _state.value = ConnectionState.Down(cause, disconnect)
                log.info("down: not reconnecting until reconnect() is called")
                select {
                    closeRequest.onAwait { Next.Stop(ConnectionState.Closed(it.code, it.reason, cause)) }
                    wake.onReceive { Next.Go(0) }
                }
            }
            is Decision.Reconnect, is Decision.Ignore, is Decision.ReconnectAfter -> {
                val next = attempt + 1
                val max = config.reconnect.maxAttempts
                if (max != null && next > max) {
                    log.error("giving up after $attempt reconnect attempts")
                    return Next.Stop(
                        ConnectionState.Closed(closedCode, closedReason, TetherException.ReconnectExhausted(attempt, cause)),
                    )
                }
                val delay: Duration = (decision as? Decision.ReconnectAfter)?.delay
                    ?: config.reconnect.delayFor(next).coerceAtLeast(Duration.ZERO)
                _state.value = ConnectionState.Reconnecting(next, delay, cause, disconnect)
                log.info("reconnecting in $delay (attempt $next)")
                select {
                    closeRequest.onAwait { Next.Stop(ConnectionState.Closed(it.code, it.reason, cause)) }
                    wake.onReceive { Next.Go(next) }
                    onTimeout(delay) { Next.Go(next) }
                }
            }
        }
    }

    internal companion object {
        fun start(
            config: WebSocketClientConfig,
            transportFactory: (WebSocketClientConfig) -> Transport,
            scope: CoroutineScope,
            ownsScope: Boolean,
            timeSource: TimeSource.WithComparableMarks = TimeSource.Monotonic,
        ): RealConnection {
            val connection = RealConnection(config, timeSource)
            val transport = transportFactory(config)
            connection.job = scope.launch(CoroutineName("tether-connection")) { connection.supervise(transport) }
            connection.job.invokeOnCompletion {
                connection.terminal.complete(ConnectionState.Closed(CloseCodes.ABNORMAL, "cancelled", null))
                if (ownsScope) scope.cancel()
            }
            return connection
        }
    }
}
