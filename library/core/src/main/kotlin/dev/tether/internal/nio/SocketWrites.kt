package dev.tether.internal.nio

import dev.tether.TetherException
import dev.tether.internal.WriteMark
import kotlinx.coroutines.CompletableDeferred
import java.io.IOException
import java.nio.ByteBuffer
import java.nio.channels.SocketChannel
import java.util.Arrays
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong

/**
 * The write side of a [NioSocket]: buffers queued from any thread, written with gathering writes (through [tls] when
 * set), control frames ahead of data at frame boundaries, and the marks and flush markers that tell senders what has
 * reached the socket.
 *
 * Threading: [write], [writeUrgent], [mark], [flushMarker] and [settle] may be called from any thread. One guard
 * ([asWriteOwner]) decides who writes: whoever finds it free takes up the [queue] and writes at once from its own
 * thread (non-blocking), so a send on an idle connection needs no hop; when the socket cannot take more, the [host]
 * asks the loop for OP_WRITE and the loop writes the rest. [pending], [urgentPending] and [gather] belong to the
 * thread holding the guard.
 */
internal class SocketWrites(
    private val loop: EventLoop,
    private val channel: SocketChannel,
    private val tls: TlsLayer?,
    private val host: Host,
) {
    /** What the write side needs of its socket. */
    interface Host {
        /** Why the socket closed, or null while it is open. */
        val failure: TetherException?

        /** TCP (and TLS) are up and the socket has not closed: bytes may go out. */
        val writable: Boolean

        /** The socket is full: the loop writes the rest on OP_WRITE. Any thread. */
        fun socketFull()

        /** A write failed: the socket closes for it. */
        fun writeFailed(e: IOException)

        /** A TLS post-handshake message (a key update) was answered: reading, which waited for it, goes on. */
        fun handshakeMessageSent()
    }

    // ByteBuffer, CompletableDeferred<Unit> (flush marker), WriteMark, or Urgent (a control frame that goes ahead)
    private val queue = ConcurrentLinkedQueue<Any>()
    private val owner = AtomicBoolean()
    private val urgentPending = ArrayDeque<ByteBuffer>() // written before pending, at frame boundaries
    private val pending = ArrayDeque<Any>()
    private val gather = arrayOfNulls<ByteBuffer>(GATHER)
    private val queuedBytes = AtomicLong()
    private val urgentQueued = AtomicLong()

    /** Bytes queued but not yet handed to the socket (or to TLS). */
    val backlog: Long get() = queuedBytes.get()

    /** Bytes of control frames ([writeUrgent]) not yet on the socket. */
    val urgentBacklog: Long get() = urgentQueued.get()

    /** Queues [buf] and writes what the socket takes now. Throws if the socket is closed. */
    fun write(buf: ByteBuffer) {
        host.failure?.let { throw it }
        queuedBytes.addAndGet(buf.remaining().toLong())
        queue.add(buf)
        drive()
    }

    /**
     * Queues the control frame [buf] ahead of the data waiting to be written, at the next frame boundary (RFC 6455
     * §5.4 lets control frames go between frames, even inside a fragmented message): a ping or a pong never waits
     * behind megabytes of application data. [buf] holds exactly one whole frame.
     */
    fun writeUrgent(buf: ByteBuffer) {
        host.failure?.let { throw it }
        queuedBytes.addAndGet(buf.remaining().toLong())
        urgentQueued.addAndGet(buf.remaining().toLong())
        queue.add(Urgent(buf))
        drive()
    }

    /**
     * A mark behind everything queued so far: its [WriteMark.done] turns true once all of that is on the socket (never,
     * if the socket closes first). Cheaper than a flush marker, and it does not end a gathering write.
     */
    fun mark(): WriteMark = WriteMark().also(::addMarker)

    /**
     * Returns once every [mark] tells the truth. It waits until no thread is writing (spinning: a write holds the
     * socket for one system call and the bookkeeping after it, and marks what it wrote before it lets go). It then
     * marks the marks that nothing unwritten precedes: a mark queued just as the socket closed may never have been
     * taken up by a write. Any thread but one that is writing.
     */
    fun settle() {
        while (!asWriteOwner { takeUp(); completeMarkers() }) Thread.yield()
        drive() // what was taken up is written as usual while the socket is open
    }

    /**
     * Completes [done] once everything queued before it is on the socket; fails it if the socket closes first. A
     * marker asked for as the socket closes completes all the same when every byte before it was written (the last
     * write finished them just before the close): a frame that reached the server is never reported lost.
     */
    fun flushMarker(done: CompletableDeferred<Unit>) = addMarker(done)

    /**
     * Queues a [WriteMark] or a flush marker behind everything queued so far. The one rule for both when the socket
     * closed before or meanwhile (a peer's reset right after the last byte went out): the marker is reached if nothing
     * unwritten precedes it ([settleClosed]), so a frame that reached the server is never reported lost.
     */
    private fun addMarker(marker: Any) {
        queue.add(marker)
        drive()
        host.failure?.let { cause -> // nothing will be written now
            while (!asWriteOwner { settleClosed(cause) }) Thread.yield() // a write in progress stops at once
        }
    }

    /** Writes what is queued, as far as the socket takes it, unless another thread is writing (it then goes on). */
    fun drive() {
        while (true) {
            if (!host.writable) return
            var blocked = false
            var failed: IOException? = null
            if (!asWriteOwner {
                    try {
                        takeUp()
                        blocked = drain()
                    } catch (e: IOException) {
                        failed = e
                    }
                }
            ) {
                return
            }
            failed?.let { host.writeFailed(it); return }
            if (blocked) {
                host.socketFull()
                return
            }
            if (queue.isEmpty() && tls?.wantsWrap != true) return
        }
    }

    /** Sends TLS close_notify, best effort, unless a write is in progress. Loop thread, as the socket closes. */
    fun closeOutbound() {
        val t = tls ?: return
        asWriteOwner {
            try {
                t.closeOutbound(channel)
            } catch (e: IOException) {
                // best effort: the peer may be gone
            }
        }
    }

    /**
     * The socket closed for [cause]: completes the markers that nothing unwritten precedes and fails the others. Loop
     * thread. A writer thread holding the guard sees the socket closed and stops; this then runs again.
     */
    fun fail(cause: TetherException) {
        if (!asWriteOwner { settleClosed(cause) }) loop.execute { fail(cause) }
    }

    /**
     * After the close, as the write owner: every marker at the head of the stream is reached (the writes before it
     * finished, perhaps just as the socket closed); every other one fails with [cause]. What was not written is
     * dropped, and one unwritten byte stands in for it, so that a marker asked for later fails too.
     */
    @Suppress("UNCHECKED_CAST")
    private fun settleClosed(cause: TetherException) {
        takeUp()
        completeMarkers()
        val unwritten = pending.any { it is ByteBuffer }
        pending.forEach { (it as? CompletableDeferred<Unit>)?.completeExceptionally(cause) }
        pending.clear()
        if (unwritten) pending.addLast(ByteBuffer.allocate(1)) // never written: the socket is closed
    }

    /** The one write guard: runs [block] as the only writer, if no other thread is writing now; false if one was. */
    private inline fun asWriteOwner(block: () -> Unit): Boolean {
        if (!owner.compareAndSet(false, true)) return false
        try {
            block()
        } finally {
            owner.set(false)
        }
        return true
    }

    /** Moves what other threads queued to the owner's lanes. Write owner only. */
    private fun takeUp() {
        while (true) {
            val item = queue.poll() ?: return
            if (item is Urgent) urgentPending.addLast(item.buf) else pending.addLast(item)
        }
    }

    /**
     * Writes the pending buffers, through TLS when there is one; true if the socket is full. With TLS it also sends
     * what the engine has to say by itself (a post-handshake message) when no data is pending. Write owner only.
     */
    private fun drain(): Boolean {
        while (true) {
            if (tls != null && tls.flushNet(channel)) return true
            completeMarkers()
            val n = fillGather()
            val handshakeMessage = n == 0 && tls?.wantsWrap == true
            if (n == 0 && !handshakeMessage) return false
            val taken = if (tls == null) channel.write(gather, 0, n) else tls.wrap(gather, n)
            if (handshakeMessage) host.handshakeMessageSent()
            queuedBytes.addAndGet(-taken)
            Arrays.fill(gather, 0, n, null)
            // plain: a buffer written in part means the socket is full; TLS: the next flushNet tells
            if (dropWritten() && tls == null) return true
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

    private companion object {
        const val GATHER = 16 // buffers per gathering write; the drain loops for more
    }
}

/** A control frame in the socket's queue, on its way to the urgent lane (see [SocketWrites.writeUrgent]). */
private class Urgent(val buf: ByteBuffer)
