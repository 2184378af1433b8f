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
import kotlinx.coroutines.selects.select
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.coroutines.yield
import java.nio.ByteBuffer
import kotlin.time.TimeSource

/** How a session ended and, when Tether ended it on a decision, that decision. */
internal class SessionResult(val disconnect: Disconnect, val forced: Decision?)

/**
 * Runs one open connection: a reader (the only coroutine reading the socket), a writer (the only one draining the
 * outbox), and the keepalive. Whatever ends the session first wins; then the matching closing sequence runs,
 * bounded by the close timeout, and the socket is shut. Returns exactly one [SessionResult].
 */
@OptIn(ExperimentalCoroutinesApi::class) // Deferred.getCompleted
internal class SessionRunner(
    private val config: WebSocketClientConfig,
    private val session: TransportSession,
    private val outbox: Outbox,
    private val hooks: HookRunner,
    private val deliver: suspend (Frame) -> Unit,
    private val closeRequest: Deferred<Decision.Close>,
    private val requestClose: (Frame.Close) -> Unit,
    private val onClosing: (code: Int, reason: String) -> Unit,
    private val timeSource: TimeSource.WithComparableMarks,
    private val log: TetherLog,
) {
    private sealed class Ending {
        class PeerClosed(val close: ReceivedClose) : Ending()
        class Violation(val error: TetherException, val code: Int, val engineSent: Boolean) : Ending()
        class Lost(val error: TetherException) : Ending()
        class Local(val code: Int, val reason: String, val decision: Decision) : Ending()
    }

    private val ending = CompletableDeferred<Ending>()
    private val peerClose = CompletableDeferred<ReceivedClose>()
    private val readerDone = CompletableDeferred<Unit>()
    private val closeSignal = CompletableDeferred<Frame.Close>()
    private val pongs = Channel<ByteArray>(PONG_BUFFER)
    private val keepaliveOn = config.pingInterval.isPositive()

    suspend fun run(): SessionResult = try {
        runSession()
    } finally {
        session.abort() // also when the caller's scope is cancelled: the socket never outlives the session
    }

    private suspend fun runSession(): SessionResult = coroutineScope {
        val startedAt = timeSource.markNow()
        while (hooks.decisions.tryReceive().isSuccess) {
            // a decision from an earlier session is stale: drop it
        }
        launch(CoroutineName("tether-reader")) { readLoop() }
        val writer = launch(CoroutineName("tether-writer")) { writeLoop() }
        val keepalive = if (keepaliveOn) launch(CoroutineName("tether-keepalive")) { keepaliveLoop() } else null

        val first = select<Ending> {
            ending.onAwait { it }
            closeRequest.onAwait { Ending.Local(it.code, it.reason, it) }
            hooks.decisions.onReceive { d ->
                if (d is Decision.Close) Ending.Local(d.code, d.reason, d) else Ending.Local(CloseCodes.NORMAL, "", d)
            }
        }
        keepalive?.cancel()
        val disconnect = when (first) {
            is Ending.Local -> {
                onClosing(first.code, first.reason)
                closeSignal.complete(Frame.Close(first.code, first.reason))
                withTimeoutOrNull(config.closeTimeout) {
                    writer.join()
                    select { peerClose.onAwait { }; readerDone.onAwait { } }
                }
                val answered = peerClose.isCompleted
                Disconnect(
                    first.code, first.reason, byServer = false, cause = null, uptime = startedAt.elapsedNow(),
                ).also { if (!answered) log.error("the server did not answer the close frame within ${config.closeTimeout}") }
            }
            is Ending.PeerClosed -> {
                writer.cancelAndJoin()
                awaitNoDirectWrite()
                val code = first.close.code
                val echo = if (code == MessageAssembler.NO_STATUS) ByteArray(0) else MessageAssembler.closePayload(code, "")
                bestEffort { session.send(RawFrame(RawFrame.CLOSE, true, 0, echo)); session.flush() }
                Disconnect(code, first.close.reason, byServer = true, cause = null, uptime = startedAt.elapsedNow())
            }
            is Ending.Violation -> {
                writer.cancelAndJoin()
                awaitNoDirectWrite()
                val reason = truncateUtf8(first.error.message ?: "", CloseCodes.MAX_REASON_BYTES)
                if (!first.engineSent) {
                    bestEffort { session.send(RawFrame(RawFrame.CLOSE, true, 0, MessageAssembler.closePayload(first.code, reason))) }
                }
                withTimeoutOrNull(config.closeTimeout) { session.awaitWriterDone() }
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
        SessionResult(disconnect, (first as? Ending.Local)?.decision)
    }

    private suspend fun readLoop() {
        val assembler = MessageAssembler(config.maxFrameSize, config.maxMessageSize, validateUtf8 = !session.validatesUtf8)
        var draining = false
        try {
            while (true) {
                val raw = session.receive()
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
                        session.send(RawFrame(RawFrame.PONG, true, 0, item.data))
                        hooks.observePing(item.data)
                    }
                    is Frame.Pong -> if (keepaliveOn) pongs.trySend(item.data) else hooks.observePong(item.data, null)
                    is ReceivedClose -> {
                        draining = true
                        ending.complete(Ending.PeerClosed(item))
                        peerClose.complete(item)
                    }
                    is Frame -> deliver(item)
                }
            }
        } catch (e: TetherException.ProtocolViolation) {
            ending.complete(Ending.Violation(e, e.closeCode, engineSent = true))
        } catch (e: TetherException.FrameTooLarge) {
            ending.complete(Ending.Violation(e, CloseCodes.TOO_BIG, engineSent = true))
        } catch (e: TetherException) {
            ending.complete(Ending.Lost(e))
        } finally {
            readerDone.complete(Unit)
        }
    }

    private suspend fun writeLoop() {
        val batch = ArrayList<Any>() // taken from the outbox, written but not yet flushed; grows only when used
        try {
            while (true) {
                val next = select<Any> {
                    closeSignal.onAwait { CLOSE_SIGNAL }
                    outbox.channel.onReceive { it }
                }
                if (next === CLOSE_SIGNAL) {
                    awaitNoDirectWrite() // a direct write that began before the signal goes first
                    while (true) write(outbox.channel.tryReceive().getOrNull() ?: break, batch)
                    val close = closeSignal.getCompleted()
                    session.send(RawFrame(RawFrame.CLOSE, true, 0, MessageAssembler.closePayload(close.code, close.reason)))
                    session.flush()
                    written(batch)
                    return
                }
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

    private fun written(batch: MutableList<Any>) {
        batch.forEach {
            (it as? Tracked)?.written?.complete(Unit)
            outbox.finished(it)
        }
        batch.clear()
    }

    /** Taken but maybe not written when the connection died: each sender is told (a plain frame via `onError`). */
    private fun lost(batch: MutableList<Any>) {
        batch.forEach { outbox.dropped(it, SendFailure.CONNECTION_LOST) }
        batch.clear()
    }

    private suspend fun write(element: Any, batch: MutableList<Any>) {
        val tracked = element as? Tracked
        if (tracked?.cancelled == true) {
            outbox.finished(element)
            return
        }
        val frame = outbox.frameOf(element)
        if (frame is Frame.Close) {
            requestClose(frame)
            tracked?.written?.complete(Unit)
            outbox.finished(element)
            return
        }
        batch.add(element)
        session.send(frame.toRaw())
    }

    /**
     * Writes [frame] now, from the caller's coroutine, when nothing sent earlier is still queued and the session is
     * not closing: the fast path of a send on a live, idle connection (no hop through the writer). Returns false
     * when the frame must go through the outbox instead (it was not handed to the socket); throws
     * [TetherException.SendFailed] when it was handed over but the connection died before it was written.
     */
    suspend fun tryWriteNow(frame: Frame): Boolean {
        if (closing || outbox.inFlight.get() != 0 || !direct.compareAndSet(false, true)) return false
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
            throw TetherException.SendFailed(frame, SendFailure.CONNECTION_LOST, "the connection was lost before the frame was written")
        }
    }

    private suspend fun awaitNoDirectWrite() {
        while (direct.get()) yield()
    }

    /** True once the session is ending: no more direct writes. */
    private val closing: Boolean get() = closeSignal.isCompleted || ending.isCompleted

    /** Held while a direct write hands its frame to the session; the writer waits for it before a close frame. */
    private val direct = java.util.concurrent.atomic.AtomicBoolean()

    private suspend fun keepaliveLoop() {
        var seq = 0L
        while (true) {
            delay(config.pingInterval)
            val payload = ByteBuffer.allocate(8).putLong(++seq).array()
            val sentAt = timeSource.markNow()
            val answered = withTimeoutOrNull(config.pongTimeout) {
                try {
                    session.send(RawFrame(RawFrame.PING, true, 0, payload))
                } catch (e: TetherException) {
                    ending.complete(Ending.Lost(e)) // the socket closed under us: the reader reports the same
                    return@withTimeoutOrNull false
                }
                while (true) {
                    val p = pongs.receive()
                    if (p.contentEquals(payload)) break
                    hooks.observePong(p, null)
                }
                true
            }
            if (answered == null) {
                ending.complete(Ending.Lost(TetherException.DeadLink(config.pongTimeout)))
                return
            }
            if (!answered) return
            hooks.observePong(payload, sentAt.elapsedNow())
        }
    }

    private suspend inline fun bestEffort(crossinline block: suspend () -> Unit) {
        try {
            withTimeoutOrNull(config.closeTimeout) { block() }
        } catch (e: CancellationException) {
            throw e
        } catch (e: TetherException) {
            // the socket is already gone; nothing more to say to the server
        }
    }

    private companion object {
        val CLOSE_SIGNAL = Any()
        const val BATCH = 64
        const val PONG_BUFFER = 8
    }
}

internal fun Frame.toRaw(): RawFrame = when (this) {
    is Frame.Text -> RawFrame(RawFrame.TEXT, true, 0, text.toByteArray(Charsets.UTF_8))
    is Frame.Binary -> RawFrame(RawFrame.BINARY, true, 0, data)
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
