package dev.tether.internal

import dev.tether.Frame
import dev.tether.TetherException
import dev.tether.WebSocketClientConfig
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.selects.onTimeout
import kotlinx.coroutines.selects.select
import kotlin.time.Duration
import kotlin.time.TimeSource

/**
 * A session's writer, the `tether-writer` coroutine: the only one that drains the [outbox]. First `onConnect`'s frames
 * ([priority]) alone, until it has returned (at most `connectTimeout`); then batches of up to [BATCH] frames, one flush
 * each, with `onConnect`'s later frames ahead of the outbox. On the close signal it writes what is queued (one buffer's
 * worth plus the senders already waiting) and then the close frame; on the stop signal, nothing more.
 *
 * Touches the outbox's consuming side, the session's send side and its [WriteBatch]; every sender learns the truth
 * about its frame: written once flushed, or lost when the writer stopped before it was ([WriteBatch.lost]).
 */
@OptIn(ExperimentalCoroutinesApi::class) // Deferred.getCompleted, onTimeout
internal class SessionWriter(
    private val config: WebSocketClientConfig,
    private val session: TransportSession,
    private val outbox: Outbox,
    /** `onConnect`'s frames, which go first. */
    private val priority: Channel<Tracked>?,
    private val connectDone: Deferred<Unit>,
    private val signals: SessionSignals,
    private val direct: DirectWrites,
    private val control: Control,
    private val timeSource: TimeSource.WithComparableMarks,
    private val log: TetherLog,
) {
    private val batch = WriteBatch(outbox, session as? WriteProgress)

    suspend fun run() {
        try {
            // onConnect's frames, alone, until it has returned (at most connectTimeout: a stuck hook holds nothing)
            val holdUntil = timeSource.markNow() + config.connectTimeout
            while (!direct.onConnectPhaseOver) {
                val next = select<Any> {
                    signals.closeSignal.onAwait { CLOSE_SIGNAL }
                    signals.stopSignal.onAwait { STOP_SIGNAL }
                    connectDone.onAwait { CONNECT_DONE }
                    priority?.onReceive { it }
                    onTimeout((-holdUntil.elapsedNow()).coerceAtLeast(Duration.ZERO)) { CONNECT_DONE }
                }
                if (next === CONNECT_DONE) {
                    if (!connectDone.isCompleted) log.error("onConnect has not returned after ${config.connectTimeout.readable()}: other frames go out now")
                    direct.endOnConnectPhase()
                    break
                }
                if (next === CLOSE_SIGNAL || next === STOP_SIGNAL) return endWriting(next)
                write(next)
                drainPriority()
                session.flush()
                batch.written()
            }
            while (true) {
                if (drainPriority()) {
                    session.flush()
                    batch.written()
                }
                val next = select<Any> {
                    signals.closeSignal.onAwait { CLOSE_SIGNAL }
                    signals.stopSignal.onAwait { STOP_SIGNAL }
                    priority?.onReceive { it }
                    outbox.channel.onReceive { it }
                }
                if (next === CLOSE_SIGNAL || next === STOP_SIGNAL) return endWriting(next)
                write(next)
                var n = 1
                while (n < BATCH) {
                    write(outbox.channel.tryReceive().getOrNull() ?: break)
                    n++
                }
                session.flush()
                batch.written()
            }
        } catch (e: CancellationException) {
            batch.lost()
            throw e
        } catch (e: TetherException) {
            batch.lost()
            signals.ending.complete(Ending.Lost(e))
        }
    }

    /** Writes whatever onConnect has sent so far; true if there was any. */
    private suspend fun drainPriority(): Boolean {
        val priority = priority ?: return false
        var any = false
        while (true) {
            write(priority.tryReceive().getOrNull() ?: return any)
            any = true
        }
    }

    /**
     * The close signal: what is queued now (at most one buffer's worth plus what senders were waiting with) is
     * written, then the close frame. The stop signal: nothing more.
     */
    private suspend fun endWriting(signal: Any) {
        if (signal === STOP_SIGNAL) return
        direct.awaitIdle() // a direct write that began before the signal goes first
        drainPriority()
        var budget = outbox.inFlight.get() + config.outgoingBuffer.capacity
        while (budget-- > 0) write(outbox.channel.tryReceive().getOrNull() ?: break)
        val close = signals.closeSignal.getCompleted()
        session.send(RawFrame(RawFrame.CLOSE, true, 0, MessageAssembler.closePayload(close.code, close.reason)))
        session.flush()
        signals.closeFlushed.complete(true)
        batch.written()
    }

    /** Hands one outbox element to the session (or skips it: cancelled, expired, or a close frame). */
    private suspend fun write(element: Any) {
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
            control.requestClose(frame.code, frame.reason)
            tracked?.written?.complete(Unit)
            outbox.finished(element)
            return
        }
        batch.add(element)
        session.send(frame.toRaw())
        batch.handedOver()
    }

    private companion object {
        val CLOSE_SIGNAL = Any()
        val STOP_SIGNAL = Any()
        val CONNECT_DONE = Any()

        /** The most frames written per flush. */
        const val BATCH = 64
    }
}
