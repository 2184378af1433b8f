package dev.tether.testkit

import dev.tether.testkit.internal.KotlinOnly
import dev.tether.testkit.internal.ServerDeflate
import java.io.BufferedInputStream
import java.io.IOException
import java.io.OutputStream
import java.net.Socket
import java.net.SocketException
import java.time.Duration
import java.util.concurrent.CountDownLatch
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.concurrent.withLock

/**
 * One client connection accepted by [TestWebSocketServer], after a successful handshake.
 *
 * A reader thread records every frame the client sends ([received], [awaitFrame]); unless told otherwise it answers
 * pings with pongs and answers a close frame with the same code before shutting the socket, as a correct server
 * does. All methods are thread-safe and blocking; writes go out in call order.
 */
public class ServerConnection internal constructor(
    private val socket: Socket,
    private val input: BufferedInputStream,
    /** The handshake the client sent. */
    public val handshake: HandshakeRequest,
    /** A number unique within the server, from 1, in accept order. */
    public val id: Int,
    private val deflate: ServerDeflate? = null,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    /** True when this connection agreed permessage-deflate (see [ServerCompression]). */
    public val compressed: Boolean get() = deflate != null
    private var deflaterEnded = false // guarded by output
    private var inCompressedMessage = false // reader thread

    private val output: OutputStream = socket.getOutputStream()
    private val frames = LinkedBlockingQueue<WireFrame>()
    private val all = ArrayList<WireFrame>() // guarded by allLock
    private val allLock = java.util.concurrent.locks.ReentrantLock()
    private val grew = allLock.newCondition()
    private val closed = CountDownLatch(1)
    private val sentClose = AtomicBoolean(false)
    private val readingLock = java.util.concurrent.locks.ReentrantLock()
    private val readingResumed = readingLock.newCondition()

    @Volatile
    private var reading = true

    /** When false, pings from the client are recorded but not answered (a peer that stopped answering). */
    @Volatile
    public var answerPings: Boolean = true

    /** When false, a close frame from the client is recorded but not answered. */
    @Volatile
    public var answerClose: Boolean = true

    /** Every frame received so far, in order (pings, pongs and closes included). */
    public val received: List<WireFrame> get() = allLock.withLock { all.toList() }

    /** True once the socket is closed. */
    public val isClosed: Boolean get() = closed.count == 0L

    @get:JvmSynthetic
    internal val readerThread: Thread = Thread({ readLoop() }, "testkit-conn-$id-reader").apply { isDaemon = true }

    private fun readLoop() {
        try {
            while (true) {
                readingLock.withLock { while (!reading) readingResumed.await() }
                val f = inflated(WireFrame.read(input))
                // a read already blocked when reading stopped holds its frame until reading resumes
                readingLock.withLock { while (!reading) readingResumed.await() }
                allLock.withLock {
                    all.add(f)
                    grew.signalAll()
                }
                frames.add(f)
                when (f.opcode) {
                    WireFrame.PING -> if (answerPings) write(WireFrame.encode(WireFrame.PONG, f.payload))
                    WireFrame.CLOSE -> {
                        if (sentClose.compareAndSet(false, true) && answerClose) {
                            write(WireFrame.encode(WireFrame.CLOSE, if (f.payload.size >= 2) f.payload.copyOf(2) else ByteArray(0)))
                        }
                        if (answerClose) shutdown()
                    }
                }
            }
        } catch (e: IOException) {
            shutdown()
        } catch (e: InterruptedException) {
            shutdown()
        } catch (e: IllegalArgumentException) {
            shutdown()
        } catch (e: java.util.zip.DataFormatException) {
            shutdown()
        } finally {
            deflate?.endInflater()
        }
    }

    /** [f] with its payload inflated when it belongs to a compressed message (RSV1 on the message's first frame). */
    private fun inflated(f: WireFrame): WireFrame {
        val d = deflate ?: return f
        when (f.opcode) {
            WireFrame.TEXT, WireFrame.BINARY -> inCompressedMessage = f.rsv and 4 != 0
            WireFrame.CONTINUATION -> {}
            else -> return f
        }
        if (!inCompressedMessage) return f
        val raw = f.payload
        return WireFrame(f.opcode, f.fin, f.rsv, d.inflate(raw, f.fin), raw.size)
    }

    /** Sends a message, compressed (RSV1) when this connection agreed permessage-deflate and [compress] is true. */
    private fun sendMessage(opcode: Int, payload: ByteArray, compress: Boolean = true) {
        val d = deflate
        if (d == null || !compress) return write(WireFrame.encode(opcode, payload))
        synchronized(output) {
            if (deflaterEnded) throw IOException("the connection is closed")
            output.write(WireFrame.encode(opcode, d.deflate(payload), rsv = 4))
            output.flush()
        }
    }

    /** Sends a text frame (compressed when the connection agreed permessage-deflate). */
    public fun sendText(text: String): Unit = sendMessage(WireFrame.TEXT, text.toByteArray(Charsets.UTF_8))

    /** Sends a text frame uncompressed, even when the connection agreed permessage-deflate. */
    public fun sendTextUncompressed(text: String): Unit = sendMessage(WireFrame.TEXT, text.toByteArray(Charsets.UTF_8), compress = false)

    /** Sends a binary frame (compressed when the connection agreed permessage-deflate). */
    public fun sendBinary(bytes: ByteArray): Unit = sendMessage(WireFrame.BINARY, bytes)

    /** Sends a ping. */
    @JvmOverloads
    public fun sendPing(payload: ByteArray = ByteArray(0)): Unit = write(WireFrame.encode(WireFrame.PING, payload))

    /** Sends a frame with exactly the given bits (unmasked), valid or not. */
    @JvmOverloads
    public fun sendFrame(opcode: Int, payload: ByteArray, fin: Boolean = true, rsv: Int = 0): Unit =
        write(WireFrame.encode(opcode, payload, fin, rsv))

    /** Writes raw bytes to the socket: anything a correct server never would. */
    public fun sendRaw(bytes: ByteArray): Unit = write(bytes)

    /** Writes [bytes] in chunks of [chunkSize], flushing after each, so the client sees many small reads. */
    public fun sendRawChunked(bytes: ByteArray, chunkSize: Int) {
        require(chunkSize > 0) { "chunkSize must be positive, was $chunkSize" }
        var i = 0
        while (i < bytes.size) {
            val n = minOf(chunkSize, bytes.size - i)
            synchronized(output) {
                output.write(bytes, i, n)
                output.flush()
            }
            i += n
            Thread.sleep(1)
        }
    }

    /**
     * Sends a close frame with [code] and [reason] and, if [awaitReply], waits up to [timeout] for the client's
     * close before shutting the socket.
     */
    @JvmOverloads
    public fun close(code: Int, reason: String = "", awaitReply: Boolean = true, timeout: Duration = Duration.ofSeconds(5)) {
        sentClose.set(true)
        write(WireFrame.encode(WireFrame.CLOSE, WireFrame.closePayload(code, reason.toByteArray(Charsets.UTF_8))))
        if (awaitReply) closed.await(timeout.toMillis(), TimeUnit.MILLISECONDS)
        shutdown()
    }

    /** Drops the TCP connection with no close frame (an RST: SO_LINGER 0). */
    public fun drop() {
        try {
            socket.setSoLinger(true, 0)
        } catch (e: SocketException) {
            // already closed
        }
        shutdown()
    }

    /** Stops (false) or resumes (true) reading from the socket: the client's writes back up once buffers fill. */
    public fun setReading(enabled: Boolean) {
        readingLock.withLock {
            reading = enabled
            readingResumed.signalAll()
        }
    }

    /** Echoes every text and binary frame back until the connection closes. Blocks; use it as a script. */
    public fun echo() {
        while (true) {
            val f = nextFrame(Duration.ofDays(1)) ?: return
            when (f.opcode) {
                WireFrame.TEXT, WireFrame.BINARY -> try {
                    sendMessage(f.opcode, f.payload)
                } catch (e: IOException) {
                    return
                }
                WireFrame.CLOSE -> return
            }
        }
    }

    /**
     * The next data frame (text or binary) the client sends, waiting up to [timeout].
     * @throws AssertionError if none arrives in time.
     */
    public fun awaitFrame(timeout: Duration): WireFrame {
        val deadline = System.nanoTime() + timeout.toNanos()
        while (true) {
            val left = Duration.ofNanos(deadline - System.nanoTime())
            val f = nextFrame(left) ?: throw AssertionError("no data frame from client ${handshake.path} within $timeout")
            if (f.opcode == WireFrame.TEXT || f.opcode == WireFrame.BINARY) return f
        }
    }

    /** The next frame of any kind, or null if none arrives within [timeout] or the connection closed. */
    public fun nextFrame(timeout: Duration): WireFrame? {
        val deadline = System.nanoTime() + timeout.toNanos()
        while (true) {
            frames.poll(minOf(50, maxOf(0, (deadline - System.nanoTime()) / 1_000_000)), TimeUnit.MILLISECONDS)?.let { return it }
            if (isClosed && frames.isEmpty()) return null
            if (System.nanoTime() >= deadline) return null
        }
    }

    /**
     * Waits until the client has sent [count] data frames (text or binary) in all and returns the first [count],
     * without consuming them: it works alongside a script (such as [echo]) that reads frames itself.
     * @throws AssertionError if fewer arrive within [timeout].
     */
    public fun awaitReceived(count: Int, timeout: Duration): List<WireFrame> {
        val deadline = System.nanoTime() + timeout.toNanos()
        allLock.withLock {
            while (true) {
                val data = all.filter { it.opcode == WireFrame.TEXT || it.opcode == WireFrame.BINARY }
                if (data.size >= count) return data.take(count)
                val left = (deadline - System.nanoTime()) / 1_000_000
                if (left <= 0) throw AssertionError("client sent ${data.size} data frames, not $count, within $timeout")
                grew.await(minOf(left, 50), TimeUnit.MILLISECONDS)
            }
        }
    }

    /**
     * Waits for the first received frame (of any kind) that matches [predicate], without consuming anything.
     * @throws AssertionError if none matches within [timeout].
     */
    public fun awaitReceived(timeout: Duration, predicate: java.util.function.Predicate<WireFrame>): WireFrame {
        val deadline = System.nanoTime() + timeout.toNanos()
        allLock.withLock {
            while (true) {
                all.firstOrNull { predicate.test(it) }?.let { return it }
                val left = (deadline - System.nanoTime()) / 1_000_000
                if (left <= 0) throw AssertionError("no matching frame from the client within $timeout; got $all")
                grew.await(minOf(left, 50), TimeUnit.MILLISECONDS)
            }
        }
    }

    /** Waits up to [timeout] for the socket to close; true if it did. */
    public fun awaitClosed(timeout: Duration): Boolean = closed.await(timeout.toMillis(), TimeUnit.MILLISECONDS)

    @JvmSynthetic
    internal fun open(response: ByteArray, register: () -> Unit) {
        synchronized(output) {
            register()
            output.write(response)
            output.flush()
        }
    }

    @JvmSynthetic
    internal fun write(bytes: ByteArray) {
        synchronized(output) {
            output.write(bytes)
            output.flush()
        }
    }

    @JvmSynthetic
    internal fun shutdown() {
        try {
            socket.close()
        } catch (e: IOException) {
            // ignore
        }
        if (deflate != null) {
            synchronized(output) {
                if (!deflaterEnded) deflate.endDeflater()
                deflaterEnded = true
            }
        }
        closed.countDown()
    }

    override fun toString(): String = "ServerConnection(#$id ${handshake.path})"
}
