package dev.tether.ktor.internal

import dev.tether.Handshake
import dev.tether.TetherException
import dev.tether.engine.EngineFrame
import dev.tether.engine.EngineSession
import io.ktor.client.plugins.websocket.ClientWebSocketSession
import io.ktor.websocket.Frame as KFrame
import io.ktor.websocket.FrameTooBigException
import io.ktor.websocket.FrameType
import io.ktor.websocket.ProtocolViolationException
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Job
import kotlinx.coroutines.channels.ClosedReceiveChannelException
import kotlinx.coroutines.channels.ClosedSendChannelException

/** A Ktor raw session seen through the engine seam. */
internal class KtorSession(
    private val session: ClientWebSocketSession,
    override val handshake: Handshake,
    private val done: CompletableDeferred<Unit>,
) : EngineSession {

    override suspend fun receive(): EngineFrame {
        val f = try {
            session.incoming.receive()
        } catch (e: ClosedReceiveChannelException) {
            throw TetherException.ConnectionLost("the server closed the TCP connection without a close frame")
        } catch (e: ProtocolViolationException) {
            throw TetherException.ProtocolViolation(dev.tether.CloseCodes.PROTOCOL_ERROR, e.message)
        } catch (e: FrameTooBigException) {
            throw TetherException.FrameTooLarge(e.frameSize, session.maxFrameSize, isFrame = true)
        } catch (e: CancellationException) {
            throw e
        } catch (e: Throwable) {
            throw TetherException.ConnectionLost(e.message ?: e.javaClass.simpleName, e)
        }
        val rsv = (if (f.rsv1) 4 else 0) or (if (f.rsv2) 2 else 0) or (if (f.rsv3) 1 else 0)
        return EngineFrame(f.frameType.opcode, f.fin, rsv, f.data)
    }

    override suspend fun send(frame: EngineFrame) {
        val type = FrameType[frame.opcode] ?: error("opcode ${frame.opcode}")
        try {
            session.outgoing.send(KFrame.byType(true, type, frame.data, false, false, false))
            if (frame.opcode == EngineFrame.CLOSE) sentClose = true
        } catch (e: CancellationException) {
            throw e
        } catch (e: ClosedSendChannelException) {
            throw TetherException.ConnectionLost("the socket is closed for writing", e)
        } catch (e: Throwable) {
            throw TetherException.ConnectionLost(e.message ?: e.javaClass.simpleName, e)
        }
    }

    /**
     * Set once our close frame was handed to Ktor's `outgoing`. Ktor closes `outgoing` as soon as it takes a close
     * frame, so a flush after that cannot be confirmed, but everything handed over before, the close frame last, is
     * written in order: such a flush counts as done instead of failing (which, under load, made a send that had
     * already reached the server report a lost connection).
     */
    @Volatile
    private var sentClose = false

    @OptIn(kotlinx.coroutines.DelicateCoroutinesApi::class) // isClosedForSend: a hint after the flush, not a guard
    override suspend fun flush() {
        try {
            session.flush()
        } catch (e: CancellationException) {
            throw e
        } catch (e: Throwable) {
            if (sentClose) return
            throw TetherException.ConnectionLost(e.message ?: e.javaClass.simpleName, e)
        }
        if (session.outgoing.isClosedForSend && !sentClose) {
            throw TetherException.ConnectionLost("the socket is closed for writing")
        }
    }

    override suspend fun awaitWriterDone() {
        session.coroutineContext[Job]?.join()
    }

    override fun abort() {
        session.coroutineContext[Job]?.cancel()
        done.complete(Unit)
    }
}
