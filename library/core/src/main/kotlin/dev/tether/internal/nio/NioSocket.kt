package dev.tether.internal.nio

import dev.tether.TetherException
import dev.tether.internal.WriteMark
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.asExecutor
import java.io.IOException
import java.net.InetSocketAddress
import java.nio.ByteBuffer
import java.nio.channels.CancelledKeyException
import java.nio.channels.SelectionKey
import java.nio.channels.SocketChannel
import java.util.concurrent.Executor
import javax.net.ssl.SSLEngine

/**
 * One TCP connection on an [EventLoop], with TLS through [tls] when set: connects, reads plain text into
 * [Listener.onData] and writes queued buffers with gathering writes.
 *
 * Threading: connect, the TLS handshake, reads and close happen on the loop. The write side ([SocketWrites]) may be
 * used from any thread: whoever finds it free writes at once from its own thread (non-blocking), so a send on an idle
 * connection needs no hop; when the socket cannot take more, OP_WRITE hands the rest to the loop.
 */
internal class NioSocket(
    val loop: EventLoop,
    private val channel: SocketChannel,
    private val tls: TlsLayer?,
    private val listener: Listener,
    private val url: String,
) : IoHandler, SocketWrites.Host {
    /** Events from the socket, all on the loop thread. */
    interface Listener {
        /** TCP (and TLS) are up: the upgrade request may be written. */
        fun onConnected()

        /** Plain-text bytes from the server; consume all of [buf] now (it is reused). */
        fun onData(buf: ByteBuffer)

        /** The socket is closed, for [cause]; called once. */
        fun onClosed(cause: TetherException)
    }

    private var key: SelectionKey? = null

    @Volatile
    private var open = false // TCP and TLS up: writes may go out

    @Volatile
    private var closed: TetherException? = null

    /** The write side: queued from any thread, written by whoever holds its guard. */
    private val writes = SocketWrites(loop, channel, tls, this)

    // ---- what the write side needs of its socket (SocketWrites.Host) ----

    override val failure: TetherException? get() = closed

    override val writable: Boolean get() = open && closed == null

    override fun socketFull() {
        key?.addInterest(SelectionKey.OP_WRITE)
        if (!loop.inLoop) loop.selector.wakeup()
    }

    override fun writeFailed(e: IOException) = close(lost(e))

    override fun handshakeMessageSent() {
        loop.execute { if (closed == null && tls!!.hasBufferedInput) unwrap(tls, EMPTY) }
    }

    /** The negotiated TLS version, or null without TLS. */
    val tlsProtocol: String? get() = tls?.protocol

    /** Bytes queued but not yet handed to the socket (or to TLS). */
    val backlog: Long get() = writes.backlog

    /** Starts the connect on the loop. */
    fun connect(address: InetSocketAddress) = loop.execute {
        try {
            val k = channel.register(loop.selector, 0, this)
            key = k
            if (channel.connect(address)) connected() else k.interestOps(SelectionKey.OP_CONNECT)
        } catch (e: Exception) { // IOException, SSLException, or an unresolved/unsupported address
            close(ConnectFailures.of(url, e))
        }
    }

    /** Takes over a channel already connected (through a proxy's tunnel): TLS and the upgrade go on from here. */
    fun adopt() = loop.execute {
        try {
            key = channel.register(loop.selector, 0, this)
            connected()
        } catch (e: Exception) {
            close(ConnectFailures.of(url, e))
        }
    }

    override fun onReady(key: SelectionKey) {
        try {
            if (key.isConnectable) {
                channel.finishConnect()
                key.interestOps(0)
                connected()
                return
            }
            if (key.isWritable) {
                key.removeInterest(SelectionKey.OP_WRITE)
                if (tls != null && !open) handshake() else drive()
            }
            if (key.isValid && key.isReadable && closed == null) read()
        } catch (e: IOException) {
            close(if (open) lost(e) else ConnectFailures.of(url, e))
        } catch (e: TetherException) {
            close(e)
        }
    }

    override fun onFailure(e: Throwable) =
        close(TetherException.ConnectionLost("Tether ended the connection after a failure on its side: $e", e, byPeer = false))

    private fun connected() {
        if (tls == null) {
            becomeOpen()
        } else {
            tls.begin()
            handshake()
        }
    }

    private fun becomeOpen() {
        open = true
        key?.addInterest(SelectionKey.OP_READ)
        listener.onConnected()
        drive()
    }

    /** Drives the TLS handshake as far as it can go without waiting for the peer. Loop thread. */
    private fun handshake() {
        val t = tls!!
        if (tasksRunning) return // the engine is locked while its tasks run: touching it here would block the loop
        while (true) {
            if (t.flushNet(channel)) {
                key?.addInterest(SelectionKey.OP_WRITE)
                return
            }
            when (t.step()) {
                TlsLayer.Step.WRAP -> continue
                TlsLayer.Step.UNWRAP -> {
                    if (t.hasBufferedInput) {
                        val before = t.bufferedInput
                        if (!unwrap(t, EMPTY)) return
                        if (t.bufferedInput != before) continue
                    }
                    key?.addInterest(SelectionKey.OP_READ)
                    return
                }
                TlsLayer.Step.TASKS -> {
                    runTasksOffLoop(t)
                    return
                }
                TlsLayer.Step.DONE -> {
                    if (t.flushNet(channel)) {
                        key?.addInterest(SelectionKey.OP_WRITE)
                        return
                    }
                    t.deferTasks = false
                    becomeOpen()
                    if (t.hasBufferedInput && unwrap(t, EMPTY) && t.wantsWrap) drive()
                    return
                }
            }
        }
    }

    /** Set while a batch of delegated TLS tasks runs off the loop (loop thread only). */
    private var tasksRunning = false

    /**
     * Runs the handshake's delegated tasks (certificate path checks: the application's `TrustManager` and
     * `KeyManager` when it gave a context) on Tether's blocking pool, never on the loop: a check that takes seconds
     * stalls only this handshake (bounded by the connect timeout), not the loop's other connections. The handshake
     * goes on, on the loop, when they are done. Loop thread.
     */
    private fun runTasksOffLoop(t: TlsLayer) {
        if (tasksRunning) return
        val tasks = t.takeTasks()
        tasksRunning = true
        // The JDK's SSLEngine holds its lock while a delegated task runs: the loop must not call the engine meanwhile
        // (not even for its handshake status), so it stops reading this socket until the tasks are done.
        key?.removeInterest(SelectionKey.OP_READ)
        TLS_TASKS.execute {
            var failure: Throwable? = null
            try {
                tasks.forEach { it.run() }
            } catch (e: Throwable) {
                failure = e
            }
            loop.execute {
                tasksRunning = false
                if (closed != null) return@execute
                key?.addInterest(SelectionKey.OP_READ)
                if (failure != null) {
                    close(ConnectFailures.of(url, failure))
                } else {
                    try {
                        handshake()
                    } catch (e: IOException) {
                        close(ConnectFailures.of(url, e))
                    } catch (e: TetherException) {
                        close(e)
                    }
                }
            }
        }
    }

    /** Unwraps [buf] (and kept input) into the listener; false, with the socket closed, on close_notify. */
    private fun unwrap(t: TlsLayer, buf: ByteBuffer): Boolean {
        if (t.unwrapAll(buf, loop) { app -> listener.onData(app) }) return true
        close(if (open) TetherException.ConnectionLost("the server closed the TLS session without a close frame") else ConnectFailures.eof(url, true))
        return false
    }

    private fun read() {
        if (tasksRunning) return // see runTasksOffLoop: the bytes wait in the kernel until the tasks are done
        val buf = loop.readBuffer
        buf.clear()
        val n = channel.read(buf)
        if (n < 0) {
            close(
                if (open) {
                    TetherException.ConnectionLost("the server closed the TCP connection without a close frame")
                } else {
                    ConnectFailures.eof(url, tls != null)
                },
            )
            return
        }
        buf.flip()
        if (tls == null) {
            listener.onData(buf)
            return
        }
        if (!unwrap(tls, buf) || closed != null) return
        if (!open) {
            handshake()
        } else if (tls.wantsWrap) {
            drive()
            if (tls.hasBufferedInput) unwrap(tls, EMPTY)
        }
    }

    /** Stops (false) or resumes (true) reading. Loop thread. */
    fun setReading(enabled: Boolean) {
        val k = key ?: return
        if (!k.isValid) return
        if (enabled) k.addInterest(SelectionKey.OP_READ) else k.removeInterest(SelectionKey.OP_READ)
    }

    /** Throws the reason the socket closed, if it did. */
    fun checkOpen() {
        closed?.let { throw it }
    }

    /** Queues [buf] and writes what the socket takes now. Any thread. Throws if the socket is closed. */
    fun write(buf: ByteBuffer) = writes.write(buf)

    /** Queues the control frame [buf] ahead of queued data (see [SocketWrites.writeUrgent]). Any thread. */
    fun writeUrgent(buf: ByteBuffer) = writes.writeUrgent(buf)

    /** Bytes of control frames ([writeUrgent]) not yet on the socket. */
    val urgentBacklog: Long get() = writes.urgentBacklog

    /** A mark behind everything queued so far (see [SocketWrites.mark]). Any thread. */
    fun mark(): WriteMark = writes.mark()

    /** Returns once every [mark] tells the truth (see [SocketWrites.settle]). Any thread but one that is writing. */
    fun settle() = writes.settle()

    /** Completes [done] once everything queued before it is on the socket; fails it if the socket closes first. */
    fun flushMarker(done: CompletableDeferred<Unit>) = writes.flushMarker(done)

    private fun drive() = writes.drive()

    /** Closes the socket for [cause] (once): fails every flush still waiting. Any thread. */
    fun close(cause: TetherException) {
        if (!loop.inLoop) {
            loop.execute { close(cause) }
            return
        }
        if (closed != null) return
        closed = cause
        if (open) writes.closeOutbound()
        key?.cancel()
        try {
            channel.close()
        } catch (e: IOException) {
            // already gone
        }
        loop.group.release(loop)
        listener.onClosed(cause)
        writes.fail(cause)
    }

    private fun lost(e: IOException): TetherException = TetherException.ConnectionLost(
        if (e.message?.contains("reset", ignoreCase = true) == true) "the server reset the connection" else "I/O failure: ${e.message}",
        e,
    )

    private companion object {
        val EMPTY: ByteBuffer = ByteBuffer.allocate(0)
    }
}

/** `interestOpsOr` (JDK 11+) for Java 8 and Android: a read-modify-write under the key's lock (any thread). */
private fun SelectionKey.addInterest(op: Int) {
    try {
        synchronized(this) { interestOps(interestOps() or op) }
    } catch (e: CancelledKeyException) {
        // the socket closed meanwhile (a key is cancelled only by close(), after it set `closed`): nothing to wait for;
        // a writer on a caller's thread must not get this exception (it fails the markers, not the caller)
    }
}

/** `interestOpsAnd(op.inv())` for Java 8 and Android, like [addInterest]. */
private fun SelectionKey.removeInterest(op: Int) {
    try {
        synchronized(this) { interestOps(interestOps() and op.inv()) }
    } catch (e: CancelledKeyException) {
        // closed meanwhile, as for addInterest
    }
}

/** Where TLS delegated tasks run: the shared pool for blocking work (a trust check may block on the network). */
private val TLS_TASKS: Executor = Dispatchers.IO.asExecutor()
