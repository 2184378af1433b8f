package dev.tether.internal.nio

import dev.tether.CloseCodes
import dev.tether.Handshake
import dev.tether.TetherException
import dev.tether.engine.EngineSettings
import dev.tether.internal.MessageAssembler
import dev.tether.internal.RawFrame
import dev.tether.internal.RetryAfter
import dev.tether.internal.TransportSession
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlinx.coroutines.withContext
import java.io.ByteArrayOutputStream
import java.nio.ByteBuffer
import kotlin.coroutines.CoroutineContext
import kotlin.coroutines.resumeWithException

/**
 * One WebSocket connection of the NIO engine, from the upgrade on. Bytes from the [NioSocket] are parsed on the loop:
 * first the response head (checked by [Upgrade]), then frames ([FrameParser]), which wait in a small queue for the
 * reader coroutine. That coroutine runs on the same loop ([readerContext]), so a frame reaches it with no thread
 * hop. When the queue is full, reading stops until the reader catches up: memory stays bounded.
 */
@OptIn(ExperimentalCoroutinesApi::class) // resumeUndispatched
internal class NioSession(
    private val loop: EventLoop,
    private val settings: EngineSettings,
    private val upgrade: Upgrade,
    private val url: String,
) : TransportSession, NioSocket.Listener {
    lateinit var socket: NioSocket
    private val encoder = FrameEncoder()

    /** Completes when the upgrade was accepted ([Outcome.Open]) or refused ([Outcome.Refused]); fails otherwise. */
    val outcome = CompletableDeferred<Outcome>()

    sealed class Outcome {
        class Open(val handshake: Handshake) : Outcome()
        class Refused(val head: HttpHead) : Outcome()
    }

    /** Completes once a refusal's body snippet is complete (or the socket closed). */
    val bodyDone = CompletableDeferred<Unit>()

    private var phase = Phase.UPGRADE
    private val headReader = HttpHeadReader()
    private var body: ByteArrayOutputStream? = null
    private var bodyWanted = 0L
    private val parser = FrameParser(settings.maxFrameSize, settings.maxMessageSize, settings.maxFragments) { onFrame(it) }
    private val frames = ArrayDeque<RawFrame>()
    private var waiter: CancellableContinuation<RawFrame>? = null
    private var failure: TetherException? = null
    private var paused = false

    @Volatile
    private var opened: Handshake? = null

    private enum class Phase { UPGRADE, BODY, OPEN, FAILED }

    override val handshake: Handshake get() = opened ?: error("the upgrade has not completed")
    override val readerContext: CoroutineContext get() = loop
    override val validatesUtf8: Boolean get() = true

    override fun onConnected() {
        socket.write(ByteBuffer.wrap(upgrade.requestBytes()))
    }

    override fun onData(buf: ByteBuffer) {
        when (phase) {
            Phase.UPGRADE -> readHead(buf)
            Phase.BODY -> readBody(buf)
            Phase.OPEN -> parse(buf)
            Phase.FAILED -> buf.position(buf.limit())
        }
    }

    private fun readHead(buf: ByteBuffer) {
        val head = try {
            headReader.feed(buf) ?: return
        } catch (e: HttpHeadReader.Malformed) {
            phase = Phase.FAILED
            outcome.completeExceptionally(
                TetherException.HandshakeFailed(url, 0, emptyMap(), "", null, "malformed response: ${e.message}"),
            )
            socket.close(TetherException.ConnectionLost("malformed upgrade response", byPeer = false))
            return
        }
        if (head.status != 101) {
            phase = Phase.BODY
            bodyWanted = minOf(head.contentLength() ?: SNIPPET.toLong(), SNIPPET.toLong())
            body = ByteArrayOutputStream()
            outcome.complete(Outcome.Refused(head))
            readBody(buf)
            return
        }
        val subprotocol = try {
            upgrade.validate(head, url)
        } catch (e: TetherException.HandshakeFailed) {
            phase = Phase.FAILED
            outcome.completeExceptionally(e)
            socket.close(TetherException.ConnectionLost("invalid upgrade response", byPeer = false))
            return
        }
        phase = Phase.OPEN
        val hs = Handshake(url, 101, head.headers, subprotocol, socket.tlsProtocol)
        opened = hs
        outcome.complete(Outcome.Open(hs))
        parse(buf)
    }

    private fun readBody(buf: ByteBuffer) {
        val b = body ?: return
        val n = minOf(buf.remaining().toLong(), bodyWanted - b.size()).toInt()
        if (n > 0) {
            val chunk = ByteArray(n)
            buf.get(chunk)
            b.write(chunk)
        }
        buf.position(buf.limit())
        if (b.size() >= bodyWanted) bodyDone.complete(Unit)
    }

    /** The body snippet read so far. Loop thread. */
    fun snippet(): String = body?.toByteArray()?.let { String(it, Charsets.UTF_8) } ?: ""

    fun refusal(head: HttpHead): TetherException.HandshakeFailed = TetherException.HandshakeFailed(
        url, head.status, head.headers, snippet(), RetryAfter.parse(head.values("retry-after").firstOrNull()),
    )

    private fun parse(buf: ByteBuffer) {
        try {
            parser.feed(buf)
        } catch (e: TetherException) {
            buf.position(buf.limit())
            phase = Phase.FAILED
            socket.setReading(false)
            val code = (e as? TetherException.ProtocolViolation)?.closeCode ?: CloseCodes.TOO_BIG
            val reason = (e.message ?: "").let { if (it.toByteArray().size > 123) "" else it }
            runCatching { socket.write(encoder.encode(RawFrame.CLOSE, MessageAssembler.closePayload(code, reason))) }
            fail(e)
        }
    }

    private fun onFrame(frame: RawFrame) {
        val w = waiter
        if (w != null && frames.isEmpty()) {
            waiter = null
            // The reader runs on this loop: resume it right here, without a trip through the task queue. It runs
            // until its next receive() finds no frame and suspends again.
            with(w) { loop.resumeUndispatched(frame) }
            return
        }
        frames.addLast(frame)
        if (frames.size >= HIGH_WATER && !paused) {
            paused = true
            socket.setReading(false)
        }
    }

    private fun fail(e: TetherException) {
        if (failure == null) failure = e
        if (frames.isEmpty()) waiter?.let { waiter = null; it.resumeWithException(e) }
    }

    override fun onClosed(cause: TetherException) {
        if (!outcome.isCompleted) {
            val tlsCause = cause.cause as? javax.net.ssl.SSLException // e.g. a TLS 1.3 alert after our Finished
            outcome.completeExceptionally(
                when {
                    cause is TetherException.ConnectFailed -> cause
                    tlsCause != null -> TetherException.ConnectFailed(url, TetherException.ConnectFailure.TLS, tlsCause)
                    else -> TetherException.ConnectFailed(url, TetherException.ConnectFailure.OTHER, cause)
                },
            )
        }
        bodyDone.complete(Unit)
        fail(cause)
    }

    override suspend fun receive(): RawFrame {
        if (!loop.inLoop) return withContext(loop) { receive() }
        frames.removeFirstOrNull()?.let { f ->
            if (paused && frames.size <= LOW_WATER && phase == Phase.OPEN) {
                paused = false
                socket.setReading(true)
            }
            return f
        }
        failure?.let { throw it }
        return suspendCancellableCoroutine { c ->
            waiter = c
            c.invokeOnCancellation { loop.execute { if (waiter === c) waiter = null } }
        }
    }

    override suspend fun send(frame: RawFrame) {
        if (socket.backlog > MAX_BACKLOG) flush()
        socket.write(encoder.encode(frame.opcode, frame.data, frame.fin, frame.rsv))
    }

    override suspend fun flush() {
        socket.checkOpen()
        if (socket.backlog == 0L) return // every byte queued so far is on the socket: nothing to wait for
        val done = CompletableDeferred<Unit>()
        socket.flushMarker(done)
        done.await()
    }

    override suspend fun awaitWriterDone() {
        try {
            flush()
        } catch (e: TetherException) {
            // the socket is gone: nothing more will be written
        }
    }

    override fun abort() {
        socket.close(TetherException.ConnectionLost("Tether closed the connection", byPeer = false))
    }

    private companion object {
        const val SNIPPET = 1024
        const val HIGH_WATER = 64
        const val LOW_WATER = 16
        const val MAX_BACKLOG = 4L shl 20
    }
}
