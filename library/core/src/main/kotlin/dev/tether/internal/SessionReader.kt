package dev.tether.internal

import dev.tether.CloseCodes
import dev.tether.Frame
import dev.tether.TetherException
import dev.tether.WebSocketClientConfig
import kotlin.time.ComparableTimeMark
import kotlin.time.TimeSource

/**
 * A session's reader, the `tether-reader` coroutine: the only one that reads the socket. It assembles messages, answers
 * pings at once (ahead of queued data), hands pongs to the [keepalive], messages to the [inbox], and tells the
 * session's end through [signals] (the server's close, a protocol error, the socket lost). After a close or a protocol
 * error it keeps draining the socket until the server closes it.
 *
 * Touches only the session's receive side, the inbox, the hooks' ping/pong observers and [activity].
 */
internal class SessionReader(
    private val config: WebSocketClientConfig,
    private val session: TransportSession,
    private val hooks: HookRunner,
    private val inbox: Inbox,
    private val signals: SessionSignals,
    /** Takes the pongs, when the session has a keepalive. */
    private val keepalive: Keepalive?,
    private val activity: Activity?,
    private val timeSource: TimeSource.WithComparableMarks,
) {
    /** Set once the reader handed a message to the application on this connection. */
    @Volatile
    var deliveredAny: Boolean = false
        private set

    /** When the reader last took a frame (only kept with `livenessFromAnyFrame`: the hot path pays nothing otherwise). */
    @Volatile
    var lastInbound: ComparableTimeMark? = null
        private set
    private val trackInbound = config.livenessFromAnyFrame
    private val observed = session as? ObservedSession

    suspend fun run() {
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
                    if (raw.opcode == RawFrame.CLOSE) signals.peerClose.complete(ReceivedClose(0, ""))
                    continue
                }
                val item = try {
                    assembler.accept(raw)
                } catch (e: TetherException.ProtocolViolation) {
                    draining = true
                    signals.ending.complete(Ending.Violation(e, e.closeCode, engineSent = false))
                    continue
                } catch (e: TetherException.FrameTooLarge) {
                    draining = true
                    signals.ending.complete(Ending.Violation(e, CloseCodes.TOO_BIG, engineSent = false))
                    continue
                }
                when (item) {
                    null -> Unit
                    is Frame.Ping -> {
                        // Answered here, before the next frame is read: ahead of anything queued after it arrived.
                        session.sendControl(RawFrame(RawFrame.PONG, true, 0, item.data)) // ahead of queued data, never behind it
                        hooks.observePing(item.data)
                    }
                    is Frame.Pong -> if (keepalive != null) keepalive.pong(item.data) else hooks.observePong(item.data, null)
                    is ReceivedClose -> {
                        draining = true
                        signals.ending.complete(Ending.PeerClosed(item))
                        signals.peerClose.complete(item)
                    }
                    is Frame -> {
                        activity?.seen()
                        if (!deliveredAny) deliveredAny = true
                        inbox.put(item)
                    }
                }
            }
        } catch (e: TetherException.ProtocolViolation) {
            signals.ending.complete(Ending.Violation(e, e.closeCode, engineSent = session.closesOnProtocolError))
        } catch (e: TetherException.FrameTooLarge) {
            signals.ending.complete(Ending.Violation(e, CloseCodes.TOO_BIG, engineSent = session.closesOnProtocolError))
        } catch (e: TetherException) {
            signals.ending.complete(Ending.Lost(e))
        } finally {
            signals.readerDone.complete(Unit)
        }
    }
}
