package dev.tether.internal

import dev.tether.CloseCodes
import dev.tether.Disconnect
import dev.tether.Frame
import dev.tether.TetherException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.selects.select
import kotlinx.coroutines.withTimeoutOrNull
import kotlin.time.ComparableTimeMark
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds

/**
 * A session's closing sequence, run by the session runner's coroutine once the first [Ending] is known; every step is
 * bounded by the close budget ([closeBudget]: until the close deadline, or a full close timeout), so a close never
 * waits for ever. What it does depends on the ending:
 *
 * | ending       | writer                                     | close frame                       | then waits for       |
 * |--------------|--------------------------------------------|-----------------------------------|----------------------|
 * | Tether closes| writes what is queued, then the close frame| ours                              | the server's close   |
 * | `reconnect()`| finishes its batch (≤ [DROP_GRACE])        | ours, best effort                 | nothing              |
 * | server closed| finishes its batch                         | the echo of the server's code     | nothing              |
 * | bad frame    | the application's answers, then the close  | ours (or the engine's, already out)| the server's TCP close|
 * | socket lost  | –                                          | –                                 | nothing              |
 *
 * It touches the session's send side only through the writer's signals, or once the writer has stopped.
 */
internal class SessionClosing(
    private val session: TransportSession,
    private val signals: SessionSignals,
    private val direct: DirectWrites,
    private val reader: SessionReader,
    private val inbox: Inbox,
    private val closeBudget: () -> Duration,
    /** Tells `Closing` (a close of the client). */
    private val onClosing: (code: Int, reason: String) -> Unit,
    private val log: TetherLog,
    /** True once the application has taken every message handed to it (incoming or the hooks, and the read-ahead). */
    private val allTaken: () -> Boolean,
) {
    /** Runs the sequence for [first] and returns what the disconnect was; the [writer] has stopped when it returns. */
    suspend fun close(first: Ending, writer: Job, startedAt: ComparableTimeMark): Disconnect = when (first) {
        is Ending.Local -> {
            if (first.final) {
                onClosing(first.code, first.reason)
                inbox.dropWhenFull = true // the application may have stopped reading: keep reading the socket
            }
            val budget = closeBudget()
            signals.closeSignal.complete(Frame.Close(first.code, first.reason))
            withTimeoutOrNull(budget) {
                writer.join()
                select { signals.peerClose.onAwait { }; signals.readerDone.onAwait { } }
            }
            // log only what happened: no answer in time, or the server closed TCP without a close frame
            when {
                signals.peerClose.isCompleted -> Unit
                signals.readerDone.isCompleted -> log.info("the server closed the connection without answering the close frame")
                else -> log.error("the server did not answer the close frame within ${budget.readable()}")
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
        is Ending.Violation -> violation(first, writer, startedAt)
        is Ending.Lost -> Disconnect(
            CloseCodes.ABNORMAL, first.error.message ?: "",
            byServer = (first.error as? TetherException.ConnectionLost)?.byPeer ?: true, cause = first.error,
            uptime = startedAt.elapsedNow(),
        )
    }

    private suspend fun violation(first: Ending.Violation, writer: Job, startedAt: ComparableTimeMark): Disconnect {
        val reason = truncateUtf8(first.error.message ?: "", CloseCodes.MAX_REASON_BYTES)
        val budget = closeBudget()
        if (first.engineSent) {
            stopWriter(writer, budget) // the engine's close frame is already out: nothing may follow it
        } else {
            // Messages that arrived before the bad frame were delivered: the application's answers to them go
            // out before the close frame (as they would with a client that answers on its reading thread),
            // within a short grace. Then what is queued, then the close frame.
            answersGrace(budget)
            signals.closeSignal.complete(Frame.Close(first.code, reason))
            if (withTimeoutOrNull(budget) { writer.join() } == null) writer.cancelAndJoin()
        }
        withTimeoutOrNull(closeBudget()) {
            session.awaitWriterDone()
            // then, as a client should, let the server close TCP (our reader, or the engine, drains meanwhile)
            if (!signals.readerDone.isCompleted) {
                select { signals.peerClose.onAwait { }; signals.readerDone.onAwait { } }
            } else {
                (session as? PeerClose)?.awaitPeerClose()
            }
        }
        return Disconnect(first.code, reason, byServer = false, cause = first.error, uptime = startedAt.elapsedNow())
    }

    /**
     * After a protocol error from the server: waits until the application has taken every message delivered before
     * it, and a moment more ([ANSWER_WINDOW]) for its answers to be queued, at most [VIOLATION_GRACE] (and never past
     * the close [budget]). Direct writes are already off, so an answer goes through the outbox, before the close frame.
     */
    private suspend fun answersGrace(budget: Duration) {
        if (!reader.deliveredAny) return // nothing was delivered on this connection: nothing to answer
        withTimeoutOrNull(minOf(VIOLATION_GRACE, budget)) {
            while (!allTaken()) delay(1)
            delay(ANSWER_WINDOW)
        }
    }

    /** Lets the writer finish the batch it is writing (so its senders learn the truth), then stops it. */
    private suspend fun stopWriter(writer: Job, within: Duration) {
        signals.stopSignal.complete(Unit)
        if (withTimeoutOrNull(within) { writer.join() } == null) writer.cancelAndJoin()
        direct.awaitIdle()
    }

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
        /** How long `reconnect()` lets the frames already handed over, and a close frame, go out on a suspect link. */
        val DROP_GRACE = 250.milliseconds

        /** After a protocol error: the longest the close frame waits for the application's answers (see [answersGrace]). */
        val VIOLATION_GRACE = 500.milliseconds

        /** How long the answers to the last messages taken may take to be queued. */
        val ANSWER_WINDOW = 50.milliseconds
    }
}
