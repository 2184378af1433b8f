package dev.tether.bench

import java.net.InetSocketAddress
import java.net.StandardSocketOptions
import java.net.URI
import java.nio.ByteBuffer
import java.nio.channels.SelectionKey
import java.nio.channels.Selector
import java.nio.channels.SocketChannel
import java.util.ArrayDeque
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.CountDownLatch
import java.util.concurrent.ThreadLocalRandom
import java.util.concurrent.TimeUnit

/**
 * The floor: a minimal hand-written WebSocket client on one selector thread, with none of a library's duties (no
 * handshake checks, no UTF-8 validation, no limits, no fragmentation, no reconnects). Plain TCP only.
 */
class NioLib : Lib {
    override val name = "nio"
    private val selector = Selector.open()
    private val tasks = ConcurrentLinkedQueue<Runnable>()
    private val thread = Thread(::loop, "nio-bench-loop").apply { isDaemon = true; start() }

    private inner class Connection(val channel: SocketChannel, val handler: Handler?) : Conn {
        val opened = CountDownLatch(1)
        var key: SelectionKey? = null
        var handshaking = true
        var inBuf: ByteBuffer = ByteBuffer.allocate(1 shl 16)
        val out = ArrayDeque<ByteBuffer>()

        override fun send(message: Any) {
            val frame = encode(message)
            synchronized(this) {
                out.add(frame)
                flush()
            }
        }

        /** Writes what the socket takes; the rest waits for OP_WRITE. Holds the connection's lock. */
        fun flush() {
            while (out.isNotEmpty()) {
                val head = out.peek()
                channel.write(head)
                if (head.hasRemaining()) {
                    key!!.interestOpsOr(SelectionKey.OP_WRITE)
                    selector.wakeup()
                    return
                }
                out.poll()
            }
        }

        fun onReadable() {
            if (channel.read(inBuf) < 0) {
                close()
                return
            }
            inBuf.flip()
            if (handshaking) {
                val s = String(inBuf.array(), 0, inBuf.limit(), Charsets.ISO_8859_1)
                val end = s.indexOf("\r\n\r\n")
                if (end < 0) {
                    inBuf.position(inBuf.limit()).limit(inBuf.capacity())
                    return
                }
                inBuf.position(end + 4)
                handshaking = false
                opened.countDown()
            }
            while (true) {
                if (inBuf.remaining() < 2) break
                val start = inBuf.position()
                val b0 = inBuf.get(start).toInt()
                val len7 = inBuf.get(start + 1).toInt() and 0x7F
                val headerLen = if (len7 == 126) 4 else if (len7 == 127) 10 else 2
                if (inBuf.remaining() < headerLen) break
                val len = when (len7) {
                    126 -> inBuf.getShort(start + 2).toInt() and 0xFFFF
                    127 -> inBuf.getLong(start + 2).toInt()
                    else -> len7
                }
                if (inBuf.remaining() < headerLen + len) {
                    if (headerLen + len > inBuf.capacity()) grow(headerLen + len)
                    break
                }
                val payload = ByteArray(len)
                inBuf.position(start + headerLen)
                inBuf.get(payload)
                val opcode = b0 and 0x0F
                val msg: Any? = when (opcode) {
                    1 -> String(payload, Charsets.UTF_8)
                    2 -> payload
                    else -> null
                }
                if (msg != null && handler != null) handler.onMessage(msg)?.let { send(it) }
            }
            inBuf.compact()
        }

        /** Room for a frame of [size] bytes: the unparsed bytes move to a bigger buffer, left in read mode. */
        private fun grow(size: Int) {
            val bigger = ByteBuffer.allocate(Integer.highestOneBit(size) * 2)
            bigger.put(inBuf)
            bigger.flip()
            inBuf = bigger
        }

        override fun close() {
            runCatching { channel.close() }
        }
    }

    override fun open(url: String, handler: Handler?): Conn {
        val uri = URI(url)
        val channel = SocketChannel.open(InetSocketAddress(uri.host, uri.port))
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true)
        channel.configureBlocking(false)
        val c = Connection(channel, handler)
        val key = ByteArray(16).also { ThreadLocalRandom.current().nextBytes(it) }
        val request = "GET ${uri.rawPath} HTTP/1.1\r\nHost: ${uri.host}:${uri.port}\r\nUpgrade: websocket\r\n" +
            "Connection: Upgrade\r\nSec-WebSocket-Key: ${java.util.Base64.getEncoder().encodeToString(key)}\r\n" +
            "Sec-WebSocket-Version: 13\r\n\r\n"
        tasks.add(Runnable { c.key = channel.register(selector, SelectionKey.OP_READ, c) })
        selector.wakeup()
        while (c.key == null) Thread.onSpinWait()
        synchronized(c) {
            c.out.add(ByteBuffer.wrap(request.toByteArray()))
            c.flush()
        }
        check(c.opened.await(60, TimeUnit.SECONDS)) { "no upgrade answer" }
        return c
    }

    private fun loop() {
        while (true) {
            selector.select()
            while (true) (tasks.poll() ?: break).run()
            val it = selector.selectedKeys().iterator()
            while (it.hasNext()) {
                val k = it.next()
                it.remove()
                val c = k.attachment() as Connection
                try {
                    if (k.isValid && k.isWritable) {
                        k.interestOpsAnd(SelectionKey.OP_WRITE.inv())
                        synchronized(c) { c.flush() }
                    }
                    if (k.isValid && k.isReadable) c.onReadable()
                } catch (e: java.io.IOException) {
                    k.cancel()
                    c.close()
                }
            }
        }
    }

    override fun shutdown() = Unit

    companion object {
        fun encode(message: Any): ByteBuffer {
            val payload = if (message is String) message.toByteArray(Charsets.UTF_8) else message as ByteArray
            val opcode = if (message is String) 1 else 2
            val len = payload.size
            val ext = if (len < 126) 0 else if (len < 65536) 2 else 8
            val buf = ByteBuffer.allocate(2 + ext + 4 + len)
            buf.put((0x80 or opcode).toByte())
            when (ext) {
                0 -> buf.put((0x80 or len).toByte())
                2 -> buf.put((0x80 or 126).toByte()).putShort(len.toShort())
                else -> buf.put((0x80 or 127).toByte()).putLong(len.toLong())
            }
            val mask = ThreadLocalRandom.current().nextInt()
            buf.putInt(mask)
            val m = ByteArray(4) { (mask shr (24 - 8 * it)).toByte() }
            for (i in 0 until len) buf.put((payload[i].toInt() xor m[i and 3].toInt()).toByte())
            buf.flip()
            return buf
        }
    }
}
