package dev.tether.internal

import dev.tether.CloseCodes
import dev.tether.ConnectionState
import dev.tether.Decision
import dev.tether.Disconnect
import dev.tether.Frame
import dev.tether.PauseReason
import dev.tether.WebSocketClientConfig
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.cancelChildren
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.selects.select
import kotlin.time.Duration
import kotlin.time.TimeSource

/** How a session ended and, when Tether ended it on a command or decision, that decision. */
internal class SessionResult(val disconnect: Disconnect, val forced: Decision?, val pausedFor: PauseReason? = null)

/**
 * Runs one open connection, on the supervisor's coroutine, with its children: the reader ([SessionReader],
 * `tether-reader`, the only one reading the socket), the writer ([SessionWriter], `tether-writer`, the only one
 * draining the outbox), the keepalive ([Keepalive], `tether-keepalive`) and the idle watch (`tether-idle`); senders on
 * their own threads write through [DirectWrites]. Whatever ends the session first wins (the peer, the socket, or a
 * [Command] from the supervisor's queue, read here while the session runs); then [SessionClosing] runs the matching
 * sequence, bounded by the close budget ([Control.closeBudget]), and the socket is shut. Returns exactly one [SessionResult].
 *
 * Order on the wire: frames `onConnect` sends ([priority]) go first; the outbox and direct writes wait until
 * `onConnect` has returned ([connectDone]).
 */
internal class SessionRunner(
    private val config: WebSocketClientConfig,
    private val session: TransportSession,
    outbox: Outbox,
    priority: Channel<Tracked>?,
    connectDone: Deferred<Unit>,
    hooks: HookRunner,
    private val inbox: Inbox,
    /** The command queue and the holds: read here while connected (the connected column of its table). */
    private val control: Control,
    private val epoch: Int,
    /** Where `Closing` is told (a close of the client). */
    private val published: Published,
    /** Application traffic, with `idleTimeout` only. */
    private val activity: Activity?,
    private val timeSource: TimeSource.WithComparableMarks,
    private val log: TetherLog,
    /** True once the application has taken every message handed to it (incoming or the hooks, and the read-ahead). */
    private val allTaken: () -> Boolean = { true },
) {
    // An idle connection holds one of these per connection: each field is a cost (see benchmarks, idle).
    private val signals = SessionSignals()
    private val direct = DirectWrites(session, outbox, connectDone, signals)
    private val keepalive: Keepalive? = if (config.pingInterval.isPositive()) {
        Keepalive(config, hooks, inbox, timeSource, session) { reader.lastInbound }
    } else {
        null
    }
    private val reader = SessionReader(config, session, hooks, inbox, signals, keepalive, activity, timeSource)
    private val writer = SessionWriter(config, session, outbox, priority, connectDone, signals, direct, control, timeSource, log)

    suspend fun run(): SessionResult = try {
        runSession()
    } finally {
        signals.closeFlushed.complete(false)
        session.abort() // also when the caller's scope is cancelled: the socket never outlives the session
    }

    /** See [DirectWrites.tryWriteNow]: the fast path of `send` on a live, idle connection. */
    suspend fun tryWriteNow(frame: Frame): Boolean = direct.tryWriteNow(frame)

    /** See [DirectWrites.tryWriteNow]: the fast path of `enqueue`. */
    fun tryWriteNow(tracked: Tracked): Boolean = direct.tryWriteNow(tracked)

    /** The first ending: from the session itself or a command that applies to it (others are dropped as stale). */
    private suspend fun firstEnding(): Ending {
        while (true) {
            val e = select<Ending?> {
                signals.ending.onAwait { it }
                control.onCommand { cmd -> endingFor(cmd) }
            }
            if (e != null) return e
        }
    }

    private fun endingFor(cmd: Command): Ending? = when (val v = control.verdict(cmd, Control.Phase.CONNECTED, epoch)) {
        is Control.Verdict.Stop -> Ending.Local(v.code, v.reason, Decision.Close(v.code, v.reason), final = true)
        Control.Verdict.Go -> Ending.Drop
        is Control.Verdict.Hold ->
            Ending.Local(CloseCodes.NORMAL, v.reason.name.lowercase(), Decision.Ignore, final = false, pausedFor = v.reason)
        Control.Verdict.StayDown -> Ending.Local(CloseCodes.NORMAL, "", Decision.StayDown, final = false)
        is Control.Verdict.Decided -> Ending.Local(CloseCodes.NORMAL, "", v.decision, final = false)
        Control.Verdict.Ignore -> null
    }

    private suspend fun runSession(): SessionResult = coroutineScope {
        val startedAt = timeSource.markNow()
        launch(CoroutineNames.READER) { reader.run() }
        val writerJob = launch(CoroutineNames.WRITER) { writer.run() }
        val keepaliveJob = keepalive?.let { k ->
            launch(CoroutineNames.KEEPALIVE) { signals.ending.complete(Ending.Lost(k.run())) }
        }
        val idle = config.idleTimeout?.let { t -> launch(CoroutineNames.IDLE) { idleLoop(t) } }

        val first = firstEnding()
        keepaliveJob?.cancel()
        idle?.cancel()
        // made only now: a live connection does not carry its closing sequence
        val closing = SessionClosing(
            session, signals, direct, reader, inbox,
            closeBudget = { control.closeBudget(config.closeTimeout) },
            onClosing = { code, reason -> published.set(ConnectionState.Closing(code, reason)) },
            log, allTaken,
        )
        val disconnect = closing.close(first, writerJob, startedAt)
        coroutineContext.cancelChildren()
        session.abort()
        val forced = when (first) {
            is Ending.Local -> first.decision
            Ending.Drop -> Decision.Reconnect
            else -> null
        }
        SessionResult(disconnect, forced, pausedFor = (first as? Ending.Local)?.pausedFor)
    }

    /** Sleeps until the connection has seen no application traffic for [timeout], then tells the supervisor. */
    private suspend fun idleLoop(timeout: Duration) {
        val started = timeSource.markNow()
        while (true) {
            val last = activity?.last?.takeIf { it > started } ?: started
            val left = timeout - last.elapsedNow()
            if (!left.isPositive()) {
                control.wentIdle() // the supervisor then pauses it
                return
            }
            delay(left)
        }
    }
}

internal fun Frame.toRaw(): RawFrame = when (this) {
    is Frame.Text -> RawFrame(RawFrame.TEXT, true, 0, text.toByteArray(Charsets.UTF_8), compress)
    is Frame.Binary -> RawFrame(RawFrame.BINARY, true, 0, data, compress)
    is Frame.Ping -> RawFrame(RawFrame.PING, true, 0, data)
    is Frame.Pong -> RawFrame(RawFrame.PONG, true, 0, data)
    is Frame.Close -> RawFrame(RawFrame.CLOSE, true, 0, MessageAssembler.closePayload(code, reason))
}

/** [s] cut to at most [maxBytes] bytes of UTF-8, never inside a character. */
internal fun truncateUtf8(s: String, maxBytes: Int): String {
    if (s.toByteArray(Charsets.UTF_8).size <= maxBytes) return s
    var end = minOf(s.length, maxBytes)
    while (end > 0 && s.substring(0, end).toByteArray(Charsets.UTF_8).size > maxBytes) end--
    if (end > 0 && Character.isHighSurrogate(s[end - 1])) end--
    return s.substring(0, end)
}
