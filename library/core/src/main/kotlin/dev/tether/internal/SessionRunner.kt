package dev.tether.internal

import dev.tether.CloseCodes
import dev.tether.Decision
import dev.tether.Disconnect
import dev.tether.Frame
import dev.tether.TetherException
import dev.tether.TetherException.SendFailure
import dev.tether.WebSocketClientConfig
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.cancelChildren
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.selects.onTimeout
import kotlinx.coroutines.selects.select
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.coroutines.Job
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.TimeSource

/** How a session ended and, when Tether ended it on a command or decision, that decision. */
internal class SessionResult(val disconnect: Disconnect, val forced: Decision?, val pausedFor: dev.tether.PauseReason? = null)

/**
 * Runs one open connection: a reader (the only coroutine reading the socket), a writer (the only one draining the
 * outbox), and the keepalive. Whatever ends the session first wins (the peer, the socket, or a [Command] from the
 * supervisor's queue, read here while the session runs); then the matching closing sequence runs, bounded by
 * [closeBudget], and the socket is shut. Returns exactly one [SessionResult].
 *
 * Order on the wire: frames `onConnect` sends ([priority]) go first; the outbox and direct writes wait until
 * `onConnect` has returned ([connectDone]).
 */
@OptIn(ExperimentalCoroutinesApi::class) // Deferred.getCompleted
internal class SessionRunner(
    private val config: WebSocketClientConfig,
    private val session: TransportSession,
    private val outbox: Outbox,
    private val priority: Channel<Tracked>?,
    private val connectDone: Deferred<Unit>,
    private val hooks: HookRunner,
    private val inbox: Inbox,
    /** The command queue and the holds: read here while connected (the connected column of its table). */
    private val control: Control,
    private val epoch: Int,
    /** The time left for a closing sequence that starts now: until the close deadline, or a full close timeout. */
    private val closeBudget: () -> Duration,
    private val onClosing: (code: Int, reason: String) -> Unit,
    private val requestClose: (code: Int, reason: String) -> Unit,
    /** When the application last sent or received a message (kept only with `idleTimeout`). */
    private val lastActivity: () -> kotlin.time.ComparableTimeMark?,
    /** Records application traffic (a message received); only called with `idleTimeout`. */
    private val activity: () -> Unit,
    private val timeSource: TimeSource.WithComparableMarks,
    private val log: TetherLog,
    /** True once the application has taken every message handed to it (incoming or the hooks, and the read-ahead). */
    private val allTaken: () -> Boolean = { true },
) {
    private sealed class Ending {
        class PeerClosed(val close: ReceivedClose) : Ending()
        class Violation(val error: TetherException, val code: Int, val engineSent: Boolean) : Ending()
        class Lost(val error: TetherException) : Ending()

        /**
         * Tether closes: [final] for a close of the client, else a decision after which the supervisor goes on
         * ([pausedFor]: a pause, the gate or idleness, after which it waits to run again).
         */
        class Local(val code: Int, val reason: String, val decision: Decision, val final: Boolean, val pausedFor: dev.tether.PauseReason? = null) :
            Ending()

        /** `reconnect()`: the link is suspect, so no closing handshake is awaited. */
        object Drop : Ending()
    }

    private val ending = CompletableDeferred<Ending>()
    private val peerClose = CompletableDeferred<ReceivedClose>()
    private val readerDone = CompletableDeferred<Unit>()
    private val closeSignal = CompletableDeferred<Frame.Close>()
    private val stopSignal = CompletableDeferred<Unit>()

    /** True once our close frame is flushed (everything handed over before it went out too); false if it never was. */
    private val closeFlushed = CompletableDeferred<Boolean>()

    /** True once `onConnect` returned, or its time (connectTimeout) ran out: direct writes may go. */
    @Volatile
    private var onConnectPhaseOver = false
        get() = field || connectDone.isCompleted
    private val keepalive: Keepalive? = if (config.pingInterval.isPositive()) {
        Keepalive(config, hooks, inbox, timeSource, ::sendControl) { lastInbound }
    } else {
        null
    }

    suspend fun run(): SessionResult = try {
        runSession()
    } finally {
        closeFlushed.complete(false)
        session.abort() // also when the caller's scope is cancelled: the socket never outlives the session
    }

    /** The first ending: from the session itself or a command that applies to it (others are dropped as stale). */
    private suspend fun firstEnding(): Ending {
        while (true) {
            val e = select<Ending?> {
                ending.onAwait { it }
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
        launch(CoroutineName("tether-reader")) { readLoop() }
        val writer = launch(CoroutineName("tether-writer")) { writeLoop() }
        val keepaliveJob = keepalive?.let { k -> launch(CoroutineName("tether-keepalive")) { ending.complete(Ending.Lost(k.run())) } }
        val idle = config.idleTimeout?.let { t -> launch(CoroutineName("tether-idle")) { idleLoop(t) } }

        val first = firstEnding()
        keepaliveJob?.cancel()
        idle?.cancel()
        val disconnect = when (first) {
            is Ending.Local -> {
                if (first.final) {
                    onClosing(first.code, first.reason)
                    inbox.dropWhenFull = true // the application may have stopped reading: keep reading the socket
                }
                val budget = closeBudget()
                closeSignal.complete(Frame.Close(first.code, first.reason))
                withTimeoutOrNull(budget) {
                    writer.join()
                    select { peerClose.onAwait { }; readerDone.onAwait { } }
                }
                // log only what happened: no answer in time, or the server closed TCP without a close frame
                when {
                    peerClose.isCompleted -> Unit
                    readerDone.isCompleted -> log.info("the server closed the connection without answering the close frame")
                    else -> log.error("the server did not answer the close frame within ${budget.inWholeMilliseconds} ms")
                }
                Disconnect(first.code, first.reason, byServer = false, cause = null, uptime = startedAt.elapsedNow())
            }
            is Ending.Drop -> {
                stopWriter(writer, minOf(closeBudget(), DROP_GRACE))
                bestEffort(DROP_GRACE) {
                    session.send(RawFrame(RawFrame.CLOSE, true, 0, MessageAssembler.closePayload(CloseCodes.NORMAL, "")))
                    session.flush()
                }
                Disconnect(CloseCodes.NORMAL, "", byServer = false, cause = null, uptime = startedAt.elapsedNow())
            }
            is Ending.PeerClosed -> {
                // frames already handed to the socket go out before the answer; what is still queued waits for the
                // next connection
                stopWriter(writer, closeBudget())
                val code = first.close.code
                val echo = if (code == MessageAssembler.NO_STATUS) ByteArray(0) else MessageAssembler.closePayload(code, "")
                bestEffort(closeBudget()) { session.send(RawFrame(RawFrame.CLOSE, true, 0, echo)); session.flush() }
                Disconnect(code, first.close.reason, byServer = true, cause = null, uptime = startedAt.elapsedNow())
            }
            is Ending.Violation -> {
                val reason = truncateUtf8(first.error.message ?: "", CloseCodes.MAX_REASON_BYTES)
                val budget = closeBudget()
                if (first.engineSent) {
                    stopWriter(writer, budget) // the engine's close frame is already out: nothing may follow it
                } else {
                    // Messages that arrived before the bad frame were delivered: the application's answers to them go
                    // out before the close frame (as they would with a client that answers on its reading thread),
                    // within a short grace. Then what is queued, then the close frame.
                    answersGrace(budget)
                    closeSignal.complete(Frame.Close(first.code, reason))
                    if (withTimeoutOrNull(budget) { writer.join() } == null) writer.cancelAndJoin()
                }
                withTimeoutOrNull(closeBudget()) {
                    session.awaitWriterDone()
                    // then, as a client should, let the server close TCP (our reader, or the engine, drains meanwhile)
                    if (!readerDone.isCompleted) {
                        select { peerClose.onAwait { }; readerDone.onAwait { } }
                    } else {
                        (session as? PeerClose)?.awaitPeerClose()
                    }
                }
                Disconnect(first.code, reason, byServer = false, cause = first.error, uptime = startedAt.elapsedNow())
            }
            is Ending.Lost -> Disconnect(
                CloseCodes.ABNORMAL, first.error.message ?: "",
                byServer = (first.error as? TetherException.ConnectionLost)?.byPeer ?: true, cause = first.error,
                uptime = startedAt.elapsedNow(),
            )
        }
        coroutineContext.cancelChildren()
        session.abort()
        val forced = when (first) {
            is Ending.Local -> first.decision
            Ending.Drop -> Decision.Reconnect
            else -> null
        }
        SessionResult(disconnect, forced, pausedFor = (first as? Ending.Local)?.pausedFor)
    }

    /**
     * After a protocol error from the server: waits until the application has taken every message delivered before
     * it, and a moment more ([ANSWER_WINDOW]) for its answers to be queued, at most [VIOLATION_GRACE] (and never past
     * the close [budget]). Direct writes are already off, so an answer goes through the outbox, before the close frame.
     */
    private suspend fun answersGrace(budget: Duration) {
        if (!deliveredAny) return // nothing was delivered on this connection: nothing to answer
        withTimeoutOrNull(minOf(VIOLATION_GRACE, budget)) {
            while (!allTaken()) delay(1)
            delay(ANSWER_WINDOW)
        }
    }

    /** Set once the reader handed a message to the application on this connection. */
    @Volatile
    private var deliveredAny = false

    /** Sleeps until the connection has seen no application traffic for [timeout], then tells the supervisor. */
    private suspend fun idleLoop(timeout: Duration) {
        val started = timeSource.markNow()
        while (true) {
            val last = lastActivity()?.takeIf { it > started } ?: started
            val left = timeout - last.elapsedNow()
            if (!left.isPositive()) {
                control.wentIdle() // the supervisor then pauses it
                return
            }
            delay(left)
        }
    }

    /** Lets the writer finish the batch it is writing (so its senders learn the truth), then stops it. */
    private suspend fun stopWriter(writer: Job, within: Duration) {
        stopSignal.complete(Unit)
        if (withTimeoutOrNull(within) { writer.join() } == null) writer.cancelAndJoin()
        awaitNoDirectWrite()
    }

    private suspend fun readLoop() {
        // An engine that validates UTF-8 (Tether's own) also checks frame sizes on each header, and hands over
        // inflated frames, which may rightly be larger than any frame on the wire: only the message limit applies.
        val frameLimit = if (session.validatesUtf8) Long.MAX_VALUE else config.maxFrameSize
        val assembler = MessageAssembler(frameLimit, config.maxMessageSize, validateUtf8 = !session.validatesUtf8)
        var draining = false
        try {
            while (true) {
                val raw = session.receive()
                observed?.inbound(raw)
                if (trackInbound) lastInbound = timeSource.markNow()
                if (draining) {
                    if (raw.opcode == RawFrame.CLOSE) peerClose.complete(ReceivedClose(0, ""))
                    continue
                }
                val item = try {
                    assembler.accept(raw)
                } catch (e: TetherException.ProtocolViolation) {
                    draining = true
                    ending.complete(Ending.Violation(e, e.closeCode, engineSent = false))
                    continue
                } catch (e: TetherException.FrameTooLarge) {
                    draining = true
                    ending.complete(Ending.Violation(e, CloseCodes.TOO_BIG, engineSent = false))
                    continue
                }
                when (item) {
                    null -> Unit
                    is Frame.Ping -> {
                        // Answered here, before the next frame is read: ahead of anything queued after it arrived.
                        sendControl(RawFrame(RawFrame.PONG, true, 0, item.data)) // ahead of queued data, never behind it
                        hooks.observePing(item.data)
                    }
                    is Frame.Pong -> if (keepalive != null) keepalive.pong(item.data) else hooks.observePong(item.data, null)
                    is ReceivedClose -> {
                        draining = true
                        ending.complete(Ending.PeerClosed(item))
                        peerClose.complete(item)
                    }
                    is Frame -> {
                        if (trackActivity) activity()
                        if (!deliveredAny) deliveredAny = true
                        inbox.put(item)
                    }
                }
            }
        } catch (e: TetherException.ProtocolViolation) {
            ending.complete(Ending.Violation(e, e.closeCode, engineSent = session.closesOnProtocolError))
        } catch (e: TetherException.FrameTooLarge) {
            ending.complete(Ending.Violation(e, CloseCodes.TOO_BIG, engineSent = session.closesOnProtocolError))
        } catch (e: TetherException) {
            ending.complete(Ending.Lost(e))
        } finally {
            readerDone.complete(Unit)
        }
    }

    private suspend fun writeLoop() {
        val batch = ArrayList<Any>() // taken from the outbox, written but not yet flushed; grows only when used
        try {
            // onConnect's frames, alone, until it has returned (at most connectTimeout: a stuck hook holds nothing)
            val holdUntil = timeSource.markNow() + config.connectTimeout
            while (!onConnectPhaseOver) {
                val next = select<Any> {
                    closeSignal.onAwait { CLOSE_SIGNAL }
                    stopSignal.onAwait { STOP_SIGNAL }
                    connectDone.onAwait { CONNECT_DONE }
                    priority?.onReceive { it }
                    onTimeout((-holdUntil.elapsedNow()).coerceAtLeast(Duration.ZERO)) { CONNECT_DONE }
                }
                if (next === CONNECT_DONE) {
                    if (!connectDone.isCompleted) log.error("onConnect has not returned after ${config.connectTimeout}: other frames go out now")
                    onConnectPhaseOver = true
                    break
                }
                if (next === CLOSE_SIGNAL || next === STOP_SIGNAL) return endWriting(next, batch)
                write(next, batch)
                drainPriority(batch)
                session.flush()
                written(batch)
            }
            while (true) {
                if (drainPriority(batch)) {
                    session.flush()
                    written(batch)
                }
                val next = select<Any> {
                    closeSignal.onAwait { CLOSE_SIGNAL }
                    stopSignal.onAwait { STOP_SIGNAL }
                    priority?.onReceive { it }
                    outbox.channel.onReceive { it }
                }
                if (next === CLOSE_SIGNAL || next === STOP_SIGNAL) return endWriting(next, batch)
                write(next, batch)
                var n = 1
                while (n < BATCH) {
                    write(outbox.channel.tryReceive().getOrNull() ?: break, batch)
                    n++
                }
                session.flush()
                written(batch)
            }
        } catch (e: CancellationException) {
            lost(batch)
            throw e
        } catch (e: TetherException) {
            lost(batch)
            ending.complete(Ending.Lost(e))
        }
    }

    /** Writes whatever onConnect has sent so far; true if there was any. */
    private suspend fun drainPriority(batch: MutableList<Any>): Boolean {
        val priority = priority ?: return false
        var any = false
        while (true) {
            write(priority.tryReceive().getOrNull() ?: return any, batch)
            any = true
        }
    }

    /**
     * The close signal: what is queued now (at most one buffer's worth plus what senders were waiting with) is
     * written, then the close frame. The stop signal: nothing more.
     */
    private suspend fun endWriting(signal: Any, batch: MutableList<Any>) {
        if (signal === STOP_SIGNAL) return
        awaitNoDirectWrite() // a direct write that began before the signal goes first
        drainPriority(batch)
        var budget = outbox.inFlight.get() + config.outgoingBuffer.capacity
        while (budget-- > 0) write(outbox.channel.tryReceive().getOrNull() ?: break, batch)
        val close = closeSignal.getCompleted()
        session.send(RawFrame(RawFrame.CLOSE, true, 0, MessageAssembler.closePayload(close.code, close.reason)))
        session.flush()
        closeFlushed.complete(true)
        written(batch)
    }

    private fun written(batch: MutableList<Any>) {
        batch.forEach {
            (it as? Tracked)?.written?.complete(Unit)
            outbox.finished(it)
        }
        batch.clear()
        marks.clear()
    }

    /**
     * The writer stopped (the connection died, or the close deadline cut it off) with [batch] handed to the session
     * but not known to be written. A frame whose mark says it reached the socket is written, as it would have been
     * reported a moment later; each other sender is told it was not written (a plain frame via `onError`). So a
     * frame reported failed never reached the server.
     */
    private fun lost(batch: MutableList<Any>) {
        // a write in progress may have put frames on the socket without marking them yet, and a mark queued as the
        // socket closed may never have been taken up: the engine settles its marks first
        if (marks.any { it != null && !it.done }) progress?.settle()
        batch.forEachIndexed { i, e ->
            if (marks.getOrNull(i)?.done == true) {
                (e as? Tracked)?.written?.complete(Unit)
                outbox.finished(e)
            } else {
                outbox.dropped(e, SendFailure.CONNECTION_LOST)
            }
        }
        batch.clear()
        marks.clear()
    }

    /** For each frame of the writer's batch, the mark behind it ([WriteProgress]); null where the engine cannot tell. */
    private val marks = ArrayList<WriteMark?>()
    private val progress = session as? WriteProgress

    private suspend fun write(element: Any, batch: MutableList<Any>) {
        val tracked = element as? Tracked
        if (tracked?.cancelled == true) {
            outbox.finished(element)
            return
        }
        if (element is Queued) {
            when (element.take()) {
                Queued.TAKEN -> Unit
                Queued.EXPIRED_NOW -> { // never sent late
                    outbox.expired(element)
                    outbox.finished(element)
                    return
                }
                else -> {
                    outbox.finished(element)
                    return
                }
            }
        }
        val frame = outbox.frameOf(element)
        if (frame is Frame.Close) { // only through outgoing.onSend in a select: the other paths turn it into a command
            requestClose(frame.code, frame.reason)
            tracked?.written?.complete(Unit)
            outbox.finished(element)
            return
        }
        batch.add(element)
        session.send(frame.toRaw())
        marks.add(progress?.mark())
    }

    /**
     * Writes [frame] now, from the caller's coroutine, when nothing sent earlier is still queued, `onConnect` has
     * returned and the session is not closing: the fast path of a send on a live, idle connection (no hop through
     * the writer). Returns false when the frame must go through the outbox instead (it was not handed to the
     * socket); throws [TetherException.SendFailed] when it was handed over but the connection died before it was
     * written.
     */
    suspend fun tryWriteNow(frame: Frame): Boolean {
        if (closing || outbox.inFlight.get() != 0 || outbox.selectUsed || !onConnectPhaseOver) return false
        if (observed?.hasDirectWrite == true) return writeNowAndWait(frame)
        if (!direct.compareAndSet(false, true)) return false
        try {
            if (closing || outbox.inFlight.get() != 0) return false
            session.send(frame.toRaw())
        } catch (e: TetherException) {
            return false
        } finally {
            direct.set(false)
        }
        try {
            session.flush()
            return true
        } catch (e: TetherException) {
            // An engine may refuse a flush once the session is closing (Ktor's does once the close frame is out). If
            // our close frame went out, so did this frame, which was handed over before it: that is written.
            if (closeFlushed.await()) return true
            throw TetherException.SendFailed(frame, SendFailure.CONNECTION_LOST, "the connection was lost before the frame was written")
        }
    }

    /**
     * The direct path on an engine that writes from the caller ([DirectWrite]): the frame is handed over without
     * waiting (never while holding [direct], so that a closing writer never waits for a sender stuck behind a full
     * socket), then the caller waits for it to reach the socket. False, nothing handed over: the socket already holds
     * more than its bound, so the frame goes through the outbox and its backpressure instead.
     */
    private suspend fun writeNowAndWait(frame: Frame): Boolean {
        val marker = handOver(frame) ?: return false
        if (marker === DirectWrite.WRITTEN) return true // the common case: every byte is on the socket, no allocation
        // not marker.await(): the loop completes the marker, and a caller on an immediate dispatcher (Unconfined, or
        // a Java facade's direct executor) would then go on with its own code on the I/O thread
        val done = CompletableDeferred<Boolean>()
        whenWritten(marker) { written -> done.complete(written) }
        if (!done.await()) {
            throw TetherException.SendFailed(frame, SendFailure.CONNECTION_LOST, "the connection was lost before the frame was written")
        }
        return true
    }

    /**
     * Calls [then] with true once [marker] is reached (every byte of its frame is on the socket), false when the
     * connection ends first; never on an I/O thread, where the loop that completes the marker runs ([OffLoop]): what
     * [then] completes may resume the application's code in place.
     */
    private inline fun whenWritten(marker: CompletableDeferred<Unit>, crossinline then: (Boolean) -> Unit) {
        marker.invokeOnCompletion { e -> OffLoop.run { then(e == null) } }
    }

    /**
     * The one direct hand-over of both [tryWriteNow]s on an engine that writes from the caller ([DirectWrite]): when
     * nothing sent earlier waits and the session is not closing, queues [frame] on the socket under the [direct]
     * guard, without waiting. Null, nothing handed over: the frame goes through the outbox (the engine cannot take
     * it now, or another sender holds the guard).
     */
    private fun handOver(frame: Frame): CompletableDeferred<Unit>? {
        val writer = session as? DirectWrite ?: return null
        if (closing || outbox.inFlight.get() != 0 || outbox.selectUsed || !onConnectPhaseOver) return null
        if (!direct.compareAndSet(false, true)) return null
        try {
            if (closing || outbox.inFlight.get() != 0) return null
            return writer.writeNow(frame.toRaw())
        } finally {
            direct.set(false)
        }
    }

    /**
     * [tryWriteNow] without suspending, for [dev.tether.Connection.enqueue]: on an engine that can take a frame at
     * once ([DirectWrite]), hands [tracked] to the socket and completes it when written. False: use the outbox.
     */
    fun tryWriteNow(tracked: Tracked): Boolean {
        val marker = handOver(tracked.frame) ?: return false
        if (marker === DirectWrite.WRITTEN) {
            tracked.written.complete(Unit)
            return true
        }
        // the sender's completion handlers (a Java future's stages, invokeOnCompletion) must not run on the loop
        whenWritten(marker) { written ->
            if (written) {
                tracked.written.complete(Unit)
            } else {
                tracked.fail(SendFailure.CONNECTION_LOST, "the connection was lost before the frame was written")
            }
        }
        return true
    }

    /**
     * Waits until no direct write is handing its frame over. A hand-over never waits for the socket on Tether's engine
     * ([writeNowAndWait]); on another engine it may, so this sleeps between looks (no spinning) and gives up at
     * [DIRECT_WAIT]: the session is then shut, which fails that write honestly (it was not written).
     */
    private suspend fun awaitNoDirectWrite() {
        withTimeoutOrNull(DIRECT_WAIT) { while (direct.get()) delay(1) }
    }

    private suspend fun sendControl(frame: RawFrame) {
        val o = observed
        if (o != null) o.sendControl(frame) else session.send(frame)
    }

    /** True once the session is ending: no more direct writes. */
    private val closing: Boolean get() = closeSignal.isCompleted || stopSignal.isCompleted || ending.isCompleted

    /** The session's event and trace observer, when it has one (every session Tether opens does). */
    private val observed = session as? ObservedSession

    /** Held while a direct write hands its frame to the session; the writer waits for it before a close frame. */
    private val direct = java.util.concurrent.atomic.AtomicBoolean()

    /** When the reader last took a frame (only kept with `livenessFromAnyFrame`: the hot path pays nothing otherwise). */
    @Volatile
    private var lastInbound: kotlin.time.ComparableTimeMark? = null
    private val trackInbound = config.livenessFromAnyFrame
    private val trackActivity = config.idleTimeout != null

    private suspend inline fun bestEffort(within: Duration, crossinline block: suspend () -> Unit) {
        try {
            withTimeoutOrNull(within) { block() }
        } catch (e: CancellationException) {
            throw e
        } catch (e: TetherException) {
            // the socket is already gone; nothing more to say to the server
        }
    }

    private companion object {
        val CLOSE_SIGNAL = Any()
        val STOP_SIGNAL = Any()
        val CONNECT_DONE = Any()
        const val BATCH = 64

        /** How long `reconnect()` lets the frames already handed over, and a close frame, go out on a suspect link. */
        val DROP_GRACE = 250.milliseconds

        /** After a protocol error: the longest the close frame waits for the application's answers (see [answersGrace]). */
        val VIOLATION_GRACE = 500.milliseconds

        /** How long the answers to the last messages taken may take to be queued. */
        val ANSWER_WINDOW = 50.milliseconds

        /** The longest a closing writer waits for a direct write to finish handing its frame over. */
        val DIRECT_WAIT = 1000.milliseconds
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
