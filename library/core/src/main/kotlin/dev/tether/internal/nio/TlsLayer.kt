package dev.tether.internal.nio

import java.nio.ByteBuffer
import java.nio.channels.SocketChannel
import javax.net.ssl.SSLEngine
import javax.net.ssl.SSLEngineResult.HandshakeStatus
import javax.net.ssl.SSLEngineResult.Status
import javax.net.ssl.SSLException

/**
 * TLS for one [NioSocket], through the JDK's [SSLEngine] (TLS 1.3 and 1.2). Holds an outgoing record buffer and, only
 * while a record arrives in pieces, an incoming one; plain text is unwrapped into the loop's shared buffer.
 * Delegated tasks (certificate checks) run inline on the loop thread.
 *
 * Threading: [unwrapAll], [begin] and [step] on the loop; [wrap] and [flushNet] by the socket's write owner.
 */
internal class TlsLayer(private val engine: SSLEngine) {
    /** [TASKS]: the handshake waits for delegated tasks (certificate checks), which must run off the loop. */
    enum class Step { WRAP, UNWRAP, TASKS, DONE }

    /**
     * True until the handshake is done: delegated tasks (the application's `TrustManager` and `KeyManager` among
     * them) are then left for [takeTasks] instead of running here, on the loop thread. After the handshake the rare
     * post-handshake tasks run inline (no application code runs there).
     */
    var deferTasks: Boolean = true

    private var netOut: ByteBuffer = ByteBuffer.allocate(engine.session.packetBufferSize).apply { flip() }
    private var netIn: ByteBuffer? = null

    /** The engine has something to send (handshake or post-handshake message). */
    val wantsWrap: Boolean get() = engine.handshakeStatus == HandshakeStatus.NEED_WRAP

    /** Bytes of a partial record are waiting for the rest. */
    val hasBufferedInput: Boolean get() = netIn?.hasRemaining() == true

    /** How many bytes of a partial record are kept. */
    val bufferedInput: Int get() = netIn?.remaining() ?: 0

    fun begin() = engine.beginHandshake()

    /** The negotiated protocol, e.g. `TLSv1.3`. */
    val protocol: String get() = engine.session.protocol

    /** Writes pending records; true if some remain (the socket is full). */
    fun flushNet(channel: SocketChannel): Boolean {
        if (!netOut.hasRemaining()) return false
        channel.write(netOut)
        return netOut.hasRemaining()
    }

    /** Advances the handshake as far as this side can. */
    fun step(): Step {
        while (true) {
            val hs = engine.handshakeStatus
            when (hs) {
                HandshakeStatus.NEED_TASK -> if (deferTasks) return Step.TASKS else runTasks()
                HandshakeStatus.NEED_WRAP -> {
                    wrap(NONE, 0)
                    return Step.WRAP
                }
                HandshakeStatus.NEED_UNWRAP -> return Step.UNWRAP
                // NEED_UNWRAP_AGAIN (DTLS, Java 9+) by name: the Java 8 and Android API has no such constant
                else -> return if (hs.name == "NEED_UNWRAP_AGAIN") Step.UNWRAP else Step.DONE
            }
        }
    }

    /** Wraps up to one record from the first [n] of [srcs] into the (empty) outgoing buffer; returns bytes consumed. */
    fun wrap(srcs: Array<ByteBuffer?>, n: Int): Long {
        netOut.clear()
        var consumed = 0L
        while (true) {
            @Suppress("UNCHECKED_CAST")
            val r = engine.wrap(srcs as Array<ByteBuffer>, 0, n, netOut)
            consumed += r.bytesConsumed()
            when (r.status) {
                Status.BUFFER_OVERFLOW -> {
                    if (netOut.position() > 0) break
                    netOut = ByteBuffer.allocate(netOut.capacity() * 2)
                }
                Status.CLOSED -> {
                    if (r.bytesProduced() > 0) break
                    throw SSLException("the TLS session is closed")
                }
                else -> {
                    if (engine.handshakeStatus == HandshakeStatus.NEED_TASK && !deferTasks) runTasks()
                    break
                }
            }
        }
        netOut.flip()
        return consumed
    }

    /**
     * Unwraps every whole record of [read] (after any partial one kept from before), handing plain text to [sink].
     * Stops early while the handshake needs to write. Returns false if the peer sent close_notify.
     */
    fun unwrapAll(read: ByteBuffer, loop: EventLoop, sink: (ByteBuffer) -> Unit): Boolean {
        val kept = netIn
        val src = if (kept == null) {
            read
        } else {
            if (read.hasRemaining()) {
                kept.compact()
                if (kept.remaining() < read.remaining()) {
                    netIn = ByteBuffer.allocate(kept.position() + read.remaining()).also { kept.flip(); it.put(kept) }
                }
                netIn!!.put(read).flip()
            }
            netIn!!
        }
        var open = true
        while (src.hasRemaining()) {
            if (engine.handshakeStatus == HandshakeStatus.NEED_WRAP) break
            if (engine.handshakeStatus == HandshakeStatus.NEED_TASK && deferTasks) break // the rest waits for the tasks
            val app = loop.tlsAppBuffer
            app.clear()
            val r = engine.unwrap(src, app)
            when (r.status) {
                Status.OK -> {
                    app.flip()
                    if (app.hasRemaining()) sink(app)
                    if (engine.handshakeStatus == HandshakeStatus.NEED_TASK && !deferTasks) runTasks()
                    if (r.bytesConsumed() == 0 && r.bytesProduced() == 0) break
                }
                Status.BUFFER_UNDERFLOW -> break
                Status.BUFFER_OVERFLOW -> loop.tlsAppBuffer = ByteBuffer.allocate(engine.session.applicationBufferSize + app.capacity())
                Status.CLOSED -> {
                    open = false
                    break
                }
                else -> break
            }
        }
        netIn = when {
            !src.hasRemaining() -> null
            src === read -> ByteBuffer.allocate(maxOf(engine.session.packetBufferSize, src.remaining())).put(src).apply { flip() }
            else -> src
        }
        return open
    }

    /** Sends close_notify, best effort. Write owner only. */
    fun closeOutbound(channel: SocketChannel) {
        engine.closeOutbound()
        if (netOut.hasRemaining()) return
        wrap(NONE, 0)
        flushNet(channel)
    }

    private fun runTasks() {
        while (true) (engine.delegatedTask ?: return).run()
    }

    /** The delegated tasks waiting now (see [deferTasks]), to run off the loop; then the handshake goes on. */
    fun takeTasks(): List<Runnable> = buildList { while (true) add(engine.delegatedTask ?: break) }

    private companion object {
        val NONE = arrayOfNulls<ByteBuffer>(0)
    }
}
