package dev.tether.internal.nio

import dev.tether.TetherException
import dev.tether.internal.WriteMark
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.asExecutor
import java.io.IOException
import java.net.InetSocketAddress
import java.nio.ByteBuffer
import java.nio.channels.SelectionKey
import java.nio.channels.SocketChannel
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong
import javax.net.ssl.SSLEngine

/**
 * One TCP connection on an [EventLoop], with TLS through [tls] when set: connects, reads plain text into
 * [Listener.onData] and writes queued buffers with gathering writes.
 *
 * Threading: reads, connect and close events happen on the loop. [write] and [flushMarker] may be called from any
 * thread: whoever finds the write side free writes at once from its own thread (non-blocking), so a send on an idle
 * connection needs no hop; when the socket cannot take more, OP_WRITE hands the rest to the loop.
 */
internal class NioSocket(
    val loop: EventLoop,
    private val channel: SocketChannel,
    private val tls: TlsLayer?,
    private val listener: Listener,
    private val url: String,
) : IoHandler {
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
    // ByteBuffer, CompletableDeferred<Unit> (flush marker), WriteMark, or Urgent (a control frame that goes ahead)
    private val queue = ConcurrentLinkedQueue<Any>()
    private val urgentPending = ArrayDeque<ByteBuffer>() // the write owner's: written before pending, at frame boundaries
    private val urgentQueued = AtomicLong()
    private val owner = AtomicBoolean()
    private val pending = ArrayDeque<Any>() // the write owner's
    private val gather = arrayOfNulls<ByteBuffer>(GATHER)
    private val queuedBytes = AtomicLong()

    /** The negotiated TLS version, or null without TLS. */
    val tlsProtocol: String? get() = tls?.protocol

    /** Bytes queued but not yet handed to the socket (or to TLS). */
    val backlog: Long get() = queuedBytes.get()

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
    fun write(buf: ByteBuffer) {
        closed?.let { throw it }
        queuedBytes.addAndGet(buf.remaining().toLong())
        queue.add(buf)
        drive()
    }

    /**
     * Queues the control frame [buf] ahead of the data waiting to be written, at the next frame boundary (RFC 6455
     * §5.4 lets control frames go between frames, even inside a fragmented message): a ping or a pong never waits
     * behind megabytes of application data. [buf] holds exactly one whole frame. Any thread.
     */
    fun writeUrgent(buf: ByteBuffer) {
        closed?.let { throw it }
        queuedBytes.addAndGet(buf.remaining().toLong())
        urgentQueued.addAndGet(buf.remaining().toLong())
        queue.add(Urgent(buf))
        drive()
    }

    /** Bytes of control frames ([writeUrgent]) not yet on the socket. */
    val urgentBacklog: Long get() = urgentQueued.get()

    /**
     * A mark behind everything queued so far: its [WriteMark.done] turns true once all of that is on the socket (never,
     * if the socket closes first). Cheaper than a flush marker, and it does not end a gathering write. Any thread.
     */
    fun mark(): WriteMark {
        val m = WriteMark()
        if (closed == null) {
            queue.add(m)
            drive()
        }
        // closed before or meanwhile (a peer's reset right after the last byte went out): what was queued before the
        // mark is on the socket if no data is left unwritten; otherwise a frame that reached the server would be
        // reported lost
        if (!m.done && closed != null && queuedBytes.get() - urgentQueued.get() == 0L) m.done = true
        return m
    }

    /**
     * Returns once every [mark] tells the truth. It waits until no thread is writing (spinning: a write holds the
     * socket for one system call and the bookkeeping after it, and marks what it wrote before it lets go). It then
     * marks the marks that nothing unwritten precedes: a mark queued just as the socket closed may never have been
     * taken up by a write. Any thread but one that is writing.
     */
    fun settle() {
        while (!owner.compareAndSet(false, true)) Thread.yield()
        try {
            while (true) {
                val item = queue.poll() ?: break
                if (item is Urgent) urgentPending.addLast(item.buf) else pending.addLast(item)
            }
            completeMarkers()
        } finally {
            owner.set(false)
        }
        drive() // what was taken up is written as usual while the socket is open
    }

    /** Completes [done] once everything queued before it is on the socket; fails it if the socket closes first. */
    fun flushMarker(done: CompletableDeferred<Unit>) {
        closed?.let { done.completeExceptionally(it); return }
        queue.add(done)
        drive()
        closed?.let { done.completeExceptionally(it) }
    }

    private fun drive() {
        while (true) {
            if (!open || closed != null) return
            if (!owner.compareAndSet(false, true)) return
            var blocked = false
            try {
                while (true) {
                    val item = queue.poll() ?: break
                    if (item is Urgent) urgentPending.addLast(item.buf) else pending.addLast(item)
                }
                blocked = if (tls == null) drainPlain() else drainTls(tls)
            } catch (e: IOException) {
                close(lost(e))
                return
            } finally {
                owner.set(false)
            }
            if (blocked) {
                key?.addInterest(SelectionKey.OP_WRITE)
                if (!loop.inLoop) loop.selector.wakeup()
                return
            }
            if (queue.isEmpty() && tls?.wantsWrap != true) return
        }
    }

    /** Writes pending buffers; true if the socket is full. Write owner only. */
    private fun drainPlain(): Boolean {
        while (true) {
            completeMarkers()
            val n = fillGather()
            if (n == 0) return false
            val written = channel.write(gather, 0, n)
            queuedBytes.addAndGet(-written)
            java.util.Arrays.fill(gather, 0, n, null)
            if (dropWritten()) return true
        }
    }

    /** Wraps and writes pending buffers; true if the socket is full. Write owner only. */
    private fun drainTls(t: TlsLayer): Boolean {
        while (true) {
            if (t.flushNet(channel)) return true
            completeMarkers()
            val n = fillGather()
            if (n == 0 && !t.wantsWrap) return false
            val handshakeMessage = n == 0
            val consumed = t.wrap(gather, n)
            // a post-handshake message (TLS 1.3 key update) was answered: unwrapping, which waited for it, goes on
            if (handshakeMessage) loop.execute { if (closed == null && t.hasBufferedInput) unwrap(t, EMPTY) }
            queuedBytes.addAndGet(-consumed)
            java.util.Arrays.fill(gather, 0, n, null)
            dropWritten()
        }
    }

    /**
     * Puts the buffers to write next into [gather] and returns how many: the urgent control frames first when the
     * head of [pending] is at a frame boundary (each buffer is one whole frame: one partly written is finished
     * first), then the buffers at the head of [pending], up to the next flush marker.
     */
    private fun fillGather(): Int {
        var n = 0
        val head = pending.firstOrNull()
        if (!(head is ByteBuffer && head.position() > 0)) {
            for (u in urgentPending) {
                if (n == GATHER) return n
                gather[n++] = u
            }
        }
        for (item in pending) {
            if (item is WriteMark) continue // a position in the stream only: gathering goes on past it
            if (item !is ByteBuffer || n == GATHER) break
            gather[n++] = item
        }
        return n
    }

    /** Forgets the buffers written whole; true if one was written in part (the socket is full). */
    private fun dropWritten(): Boolean {
        while (true) {
            val u = urgentPending.firstOrNull() ?: break
            if (u.hasRemaining()) {
                if (u.position() > 0) return true // written in part: the socket is full
                break // not in this write (the data's head was in the middle of a frame): it goes next
            }
            urgentPending.removeFirst()
            urgentQueued.addAndGet(-u.limit().toLong())
        }
        while (true) {
            when (val head = pending.firstOrNull()) {
                is ByteBuffer -> if (head.hasRemaining()) return true
                is WriteMark -> head.done = true // everything before it is on the socket
                else -> return false // a flush marker, or nothing: completeMarkers takes it
            }
            pending.removeFirst()
        }
    }

    @Suppress("UNCHECKED_CAST")
    private fun completeMarkers() {
        while (true) {
            val head = pending.firstOrNull() ?: return
            if (head is ByteBuffer) return
            pending.removeFirst()
            if (head is WriteMark) head.done = true else (head as CompletableDeferred<Unit>).complete(Unit)
        }
    }

    /** Closes the socket for [cause] (once): fails every flush still waiting. Any thread. */
    fun close(cause: TetherException) {
        if (!loop.inLoop) {
            loop.execute { close(cause) }
            return
        }
        if (closed != null) return
        closed = cause
        if (open && tls != null && owner.compareAndSet(false, true)) {
            try {
                tls.closeOutbound(channel)
            } catch (e: IOException) {
                // best effort: the peer may be gone
            } finally {
                owner.set(false)
            }
        }
        key?.cancel()
        try {
            channel.close()
        } catch (e: IOException) {
            // already gone
        }
        loop.group.release(loop)
        listener.onClosed(cause)
        failMarkers(cause)
    }

    @Suppress("UNCHECKED_CAST")
    private fun failMarkers(cause: TetherException) {
        // The owner flag may be held by a writer thread that will see `closed` and stop; markers it holds fail here.
        while (true) (queue.poll() ?: break).let { (it as? CompletableDeferred<Unit>)?.completeExceptionally(cause) }
        if (owner.compareAndSet(false, true)) {
            pending.forEach { (it as? CompletableDeferred<Unit>)?.completeExceptionally(cause) }
            pending.clear()
            owner.set(false)
        } else {
            loop.execute { failMarkers(cause) }
        }
    }

    private fun lost(e: IOException): TetherException = TetherException.ConnectionLost(
        if (e.message?.contains("reset", ignoreCase = true) == true) "the server reset the connection" else "I/O failure: ${e.message}",
        e,
    )

    private companion object {
        const val GATHER = 16 // buffers per gathering write; the drain loops for more
        val EMPTY: ByteBuffer = ByteBuffer.allocate(0)
    }
}

/** `interestOpsOr` (JDK 11+) for Java 8 and Android: a read-modify-write under the key's lock (any thread). */
private fun SelectionKey.addInterest(op: Int) {
    try {
        synchronized(this) { interestOps(interestOps() or op) }
    } catch (e: java.nio.channels.CancelledKeyException) {
        // the socket closed meanwhile (a key is cancelled only by close(), after it set `closed`): nothing to wait for;
        // a writer on a caller's thread must not get this exception (it fails the markers, not the caller)
    }
}

/** `interestOpsAnd(op.inv())` for Java 8 and Android, like [addInterest]. */
private fun SelectionKey.removeInterest(op: Int) {
    try {
        synchronized(this) { interestOps(interestOps() and op.inv()) }
    } catch (e: java.nio.channels.CancelledKeyException) {
        // closed meanwhile, as for addInterest
    }
}

/** Where TLS delegated tasks run: the shared pool for blocking work (a trust check may block on the network). */
private val TLS_TASKS: java.util.concurrent.Executor = kotlinx.coroutines.Dispatchers.IO.asExecutor()

/** A control frame in the socket's queue, on its way to the urgent lane (see [NioSocket.writeUrgent]). */
private class Urgent(val buf: ByteBuffer)
