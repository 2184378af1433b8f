@file:OptIn(kotlinx.coroutines.ExperimentalCoroutinesApi::class)

package dev.tether.internal

import dev.tether.ConnectRequest
import dev.tether.Handshake
import dev.tether.TetherException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.test.TestCoroutineScheduler
import kotlin.time.Duration.Companion.seconds

/**
 * A scripted transport for virtual-time tests of the supervisor's scheduling (backoff, resets, keepalive).
 * It is no stand-in for the network: real-socket behaviour is tested against the test kit's server.
 */
internal class FakeTransport(
    private val scheduler: TestCoroutineScheduler,
    private val behavior: (attempt: Int) -> Behavior,
) : Transport {
    sealed class Behavior {
        object Refuse : Behavior()

        /** The upgrade is refused with [status] and a `Retry-After` of [retryAfterSeconds]. */
        class RefuseWithRetryAfter(val status: Int, val retryAfterSeconds: Long) : Behavior()

        /**
         * Connects; the session answers pings if [answerPings] and drops after [upMillis] (never if null). With
         * [flush] = HANG nothing is ever written; with FAIL the first flush loses the connection.
         */
        class Accept(
            val upMillis: Long? = null,
            val answerPings: Boolean = true,
            val flush: Flush = Flush.OK,
            /** The socket is found closed when a ping is written (as when the peer went away just before). */
            val pingFails: Boolean = false,
        ) : Behavior()

        enum class Flush { OK, HANG, FAIL }
    }

    /** Virtual time of every open() call. */
    val openTimes = ArrayList<Long>()
    val requests = ArrayList<ConnectRequest>()
    val sessions = ArrayList<FakeSession>()
    var closed = false

    override suspend fun open(request: ConnectRequest, scope: CoroutineScope): TransportSession {
        val n = openTimes.size
        openTimes += scheduler.currentTime
        requests += request
        return when (val b = behavior(n)) {
            Behavior.Refuse -> throw TetherException.ConnectFailed(request.url, TetherException.ConnectFailure.REFUSED)
            is Behavior.RefuseWithRetryAfter -> throw TetherException.HandshakeFailed(
                request.url, b.status, mapOf("retry-after" to listOf("${b.retryAfterSeconds}")), "", b.retryAfterSeconds.seconds,
            )
            is Behavior.Accept -> FakeSession(scheduler, b).also { sessions += it }
        }
    }

    override fun close() {
        closed = true
    }
}

internal class FakeSession(private val scheduler: TestCoroutineScheduler, private val behavior: FakeTransport.Behavior.Accept) :
    TransportSession {
    private val openedAt = scheduler.currentTime
    val inbound = Channel<RawFrame>(Channel.UNLIMITED)
    val written = ArrayList<RawFrame>()
    var aborted = false

    override val handshake = Handshake("ws://fake", 101, emptyMap(), null)

    override suspend fun receive(): RawFrame {
        val up = behavior.upMillis
        if (up == null) return inbound.receiveCatching().getOrNull() ?: throw TetherException.ConnectionLost("closed")
        val left = openedAt + up - scheduler.currentTime
        if (left <= 0) throw TetherException.ConnectionLost("scripted drop")
        return kotlinx.coroutines.withTimeoutOrNull(left) { inbound.receive() }
            ?: throw TetherException.ConnectionLost("scripted drop")
    }

    override suspend fun send(frame: RawFrame) {
        if (aborted) throw TetherException.ConnectionLost("aborted")
        if (frame.opcode == RawFrame.PING && behavior.pingFails) throw TetherException.ConnectionLost("scripted: closed before the ping")
        written += frame
        if (frame.opcode == RawFrame.PING && behavior.answerPings) inbound.trySend(RawFrame(RawFrame.PONG, true, 0, frame.data))
        if (frame.opcode == RawFrame.CLOSE) inbound.trySend(RawFrame(RawFrame.CLOSE, true, 0, frame.data))
    }

    override suspend fun flush() {
        when (behavior.flush) {
            FakeTransport.Behavior.Flush.OK -> Unit
            FakeTransport.Behavior.Flush.HANG -> kotlinx.coroutines.awaitCancellation()
            FakeTransport.Behavior.Flush.FAIL -> throw TetherException.ConnectionLost("scripted write failure")
        }
    }
    override suspend fun awaitWriterDone() = Unit
    override fun abort() {
        aborted = true
        inbound.close()
    }
}
