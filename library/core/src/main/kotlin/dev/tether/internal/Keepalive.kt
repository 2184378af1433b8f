package dev.tether.internal

import dev.tether.TetherException
import dev.tether.WebSocketClientConfig
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeoutOrNull
import java.nio.ByteBuffer
import kotlin.time.ComparableTimeMark
import kotlin.time.TimeSource

/**
 * A session's keepalive: pings every `pingInterval` and gives the link up after more than `maxMissedPongs` pings
 * without a pong within `pongTimeout`. [run] is the `tether-keepalive` coroutine (a child of the session, on the
 * connection's dispatcher); it may touch only its [pongs], the pings it sends and the hooks' pong observer. The reader
 * hands it every pong ([pong], never waiting). Time spent with the reader held back by the application does not count
 * against a pong (see [awaitPong]).
 */
internal class Keepalive(
    private val config: WebSocketClientConfig,
    private val hooks: HookRunner,
    private val inbox: Inbox,
    private val timeSource: TimeSource.WithComparableMarks,
    /** Where pings go, ahead of queued data ([sendControl]). */
    private val session: TransportSession,
    /** When the reader last took any frame; null unless `livenessFromAnyFrame`, which then counts as proof of life. */
    private val lastInbound: () -> ComparableTimeMark?,
) {
    private val pongs = Channel<ByteArray>(PONG_BUFFER)
    private val trackInbound = config.livenessFromAnyFrame

    /** A pong the reader took (any thread; dropped if [PONG_BUFFER] pongs already wait, as only the latest matter). */
    fun pong(payload: ByteArray) {
        pongs.trySend(payload)
    }

    /**
     * Pings until the link is given up: returns why ([TetherException.DeadLink], or the error of a ping the closed
     * socket refused). Cancelled when the session ends.
     */
    suspend fun run(): TetherException {
        var seq = 0L
        var missed = 0
        while (true) {
            // a pong that answers someone else's ping (the application's) is told now, not at our next ping
            withTimeoutOrNull(config.pingInterval) {
                while (true) hooks.observePong(pongs.receive(), null)
            }
            // with livenessFromAnyFrame, data that arrived within the interval is proof enough: no ping needed
            if (trackInbound && lastInbound().let { it != null && it.elapsedNow() < config.pingInterval }) {
                missed = 0
                continue
            }
            val payload = ByteBuffer.allocate(8).putLong(++seq).array()
            val sentAt = timeSource.markNow()
            try {
                session.sendControl(RawFrame(RawFrame.PING, true, 0, payload)) // the pong timer starts now, whatever is queued
            } catch (e: TetherException) {
                return e // the socket closed under us: the reader reports the same
            }
            when (awaitPong(payload)) {
                PONG -> {
                    missed = 0
                    hooks.observePong(payload, sentAt.elapsedNow())
                    continue
                }
                LATE_PONG -> {
                    missed = 0
                    continue
                }
                else -> Unit
            }
            val heard = lastInbound() // any frame since the ping counts when livenessFromAnyFrame
            if (trackInbound && heard != null && heard >= sentAt) {
                missed = 0
                continue
            }
            if (++missed > config.maxMissedPongs) return TetherException.DeadLink(config.pongTimeout)
        }
    }

    /**
     * Waits for the pong to [payload]. The pong timeout counts only time in which the reader was reading: while the
     * application holds it back (the read-ahead is full), the pong may be unread in the socket, so the wait restarts
     * once the reader reads again. [PONG], [LATE_PONG] (a pong to an earlier ping, with misses allowed) or
     * [NO_PONG].
     */
    private suspend fun awaitPong(payload: ByteArray): Int {
        var stallsBefore = inbox.stalls
        while (true) {
            val got = withTimeoutOrNull(config.pongTimeout) {
                var result = PONG
                while (true) {
                    val p = pongs.receive()
                    if (p.contentEquals(payload)) break
                    hooks.observePong(p, null)
                    if (config.maxMissedPongs > 0) { // a late pong to an earlier ping: the link is alive
                        result = LATE_PONG
                        break
                    }
                }
                result
            }
            if (got != null) return got
            if (!inbox.stalled.value && inbox.stalls == stallsBefore) return NO_PONG
            inbox.stalled.first { !it }
            stallsBefore = inbox.stalls
        }
    }

    private companion object {
        const val PONG_BUFFER = 8
        const val PONG = 0
        const val LATE_PONG = 1
        const val NO_PONG = 2
    }
}
