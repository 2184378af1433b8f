package dev.tether.internal.nio

import dev.tether.CloseCodes
import dev.tether.Handshake
import dev.tether.TetherException
import dev.tether.engine.EngineSettings
import dev.tether.engine.EngineSupport
import dev.tether.internal.DirectWrite
import dev.tether.internal.MessageAssembler
import dev.tether.internal.PeerClose
import dev.tether.internal.RawFrame
import dev.tether.internal.TransportSession
import dev.tether.internal.UrgentControl
import dev.tether.internal.WriteMark
import dev.tether.internal.WriteProgress
import dev.tether.internal.deflate.MessageDeflater
import dev.tether.internal.deflate.MessageInflater
import kotlinx.coroutines.CompletableDeferred
import java.io.ByteArrayOutputStream
import java.nio.ByteBuffer
import javax.net.ssl.SSLException

/**
 * One WebSocket connection of the NIO engine, from the upgrade on. Bytes from the [NioSocket] are parsed on the loop:
 * first the response head (checked by [Upgrade]), then frames ([FrameParser]), which go to the connection's reader
 * coroutine through the session's [FrameHandOff]: when [HIGH_WATER] frames wait, reading stops until the reader is
 * down to [LOW_WATER], so memory stays bounded and TCP pushes back.
 */
internal class NioSession(
    private val loop: EventLoop,
    private val settings: EngineSettings,
    private val upgrade: Upgrade,
    private val url: String,
) : FrameHandOff(HIGH_WATER, LOW_WATER), TransportSession, NioSocket.Listener, DirectWrite, PeerClose,
    UrgentControl, WriteProgress {
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
    private var headReader: HttpHeadReader? = HttpHeadReader() // dropped once the head is read: idle connections are small
    private var body: ByteArrayOutputStream? = null
    private var bodyWanted = 0L
    private val parser = FrameParser(settings.maxFrameSize, settings.maxMessageSize, settings.maxFragments) { add(it) }

    @Volatile
    private var opened: Handshake? = null

    private enum class Phase { UPGRADE, BODY, OPEN, FAILED }

    override val handshake: Handshake get() = opened ?: error("the upgrade has not completed")
    override val validatesUtf8: Boolean get() = true
    override val closesOnProtocolError: Boolean get() = false

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
            headReader!!.feed(buf) ?: return
        } catch (e: HttpHeadReader.Malformed) {
            phase = Phase.FAILED
            outcome.completeExceptionally(
                TetherException.HandshakeFailed(url, 0, emptyMap(), "", null, "malformed response: ${e.message}"),
            )
            socket.close(TetherException.ConnectionLost("malformed upgrade response", byPeer = false))
            return
        }
        headReader = null
        if (head.status != 101) {
            phase = Phase.BODY
            bodyWanted = minOf(head.contentLength() ?: SNIPPET.toLong(), SNIPPET.toLong())
            body = ByteArrayOutputStream()
            outcome.complete(Outcome.Refused(head))
            readBody(buf)
            return
        }
        val accepted = try {
            upgrade.validate(head, url)
        } catch (e: TetherException.HandshakeFailed) {
            phase = Phase.FAILED
            outcome.completeExceptionally(e)
            socket.close(TetherException.ConnectionLost("invalid upgrade response", byPeer = false))
            return
        }
        phase = Phase.OPEN
        accepted.deflate?.let { params ->
            parser.inflater = MessageInflater(params, settings.maxMessageSize)
            deflater = MessageDeflater(params, settings.compression.level)
        }
        val hs = Handshake(url, 101, head.headers, accepted.subprotocol, socket.tlsProtocol)
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

    fun refusal(head: HttpHead): TetherException.HandshakeFailed = EngineSupport.refused(url, head.status, head.headers, snippet())

    private fun parse(buf: ByteBuffer) {
        try {
            parser.feed(buf)
        } catch (e: TetherException) {
            buf.position(buf.limit())
            phase = Phase.FAILED
            // Keep reading, and discard: the server's answer and FIN are seen, and closing a socket with unread data
            // would send a reset that can destroy our close frame before the server reads it.
            forgetPause()
            socket.setReading(true)
            fail(e) // the socket stays writable: the connection writes what is queued, then the close frame

        }
    }

    override fun stopReading() = socket.setReading(false)

    override fun requestResume() = loop.execute { if (unpause() && phase == Phase.OPEN) socket.setReading(true) }

    override val inLoop: Boolean get() = loop.inLoop

    /** Completes when the socket has closed (the peer's FIN, an error, or ours). */
    private val socketClosed = CompletableDeferred<Unit>()

    override suspend fun awaitPeerClose() {
        socketClosed.await()
    }

    override fun onClosed(cause: TetherException) {
        socketClosed.complete(Unit)
        parser.inflater?.release()
        deflater?.close()
        if (!outcome.isCompleted) {
            val tlsCause = cause.cause as? SSLException // e.g. a TLS 1.3 alert after our Finished
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

    /** Set when the upgrade agreed permessage-deflate. */
    @Volatile
    private var deflater: MessageDeflater? = null
    private val threshold = settings.compression.threshold

    /**
     * Encodes [frame] and queues it on the socket. A data message at or above the threshold is compressed first, when
     * the extension was agreed and the sender did not opt out; compressing and queueing happen under one lock, so the
     * server inflates messages in the order they were compressed.
     */
    private fun write(frame: RawFrame) {
        val d = deflater
        if (d == null || !frame.compress || frame.opcode >= RawFrame.CLOSE || !frame.fin || frame.data.size < threshold) {
            socket.write(encoder.encode(frame.opcode, frame.data, frame.fin, frame.rsv))
            return
        }
        val written = d.deflateThen(frame.data) { payload, compressed ->
            socket.write(encoder.encode(frame.opcode, payload, true, if (compressed) RSV1 else 0))
        }
        if (!written) throw TetherException.ConnectionLost("the connection is closed", byPeer = false)
    }

    override fun writeNow(frame: RawFrame, committed: (() -> Unit)?): CompletableDeferred<Unit>? {
        if (socket.backlog > MAX_BACKLOG) return null
        committed?.invoke()
        try {
            write(frame)
        } catch (e: TetherException) {
            return null
        }
        if (socket.backlog == 0L) return DirectWrite.WRITTEN // the common case: no marker
        val written = CompletableDeferred<Unit>()
        socket.flushMarker(written)
        return written
    }

    override suspend fun send(frame: RawFrame) {
        if (socket.backlog > MAX_BACKLOG) flush()
        write(frame)
    }

    override fun mark(): WriteMark = socket.mark()

    override fun settle() = socket.settle()

    /**
     * Tether's own pings and its pongs to the server's pings: they jump both the data bound and the queued data (at
     * the next frame boundary), so the keepalive and the answers to the server's pings work whatever the
     * application queued. They have a small bound of their own, against a server that floods pings and never reads.
     */
    override suspend fun sendControl(frame: RawFrame) {
        if (socket.urgentBacklog > CONTROL_ALLOWANCE) flush()
        socket.writeUrgent(encoder.encode(frame.opcode, frame.data, true, 0))
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
        const val RSV1 = 4
        const val HIGH_WATER = 64
        const val LOW_WATER = 16
        const val MAX_BACKLOG = 4L shl 20

        /** How many bytes of pings and pongs may wait for the socket before another waits too (about 500 pongs). */
        const val CONTROL_ALLOWANCE = 64L shl 10
    }
}
