@file:OptIn(kotlinx.coroutines.ExperimentalCoroutinesApi::class)

package dev.tether.internal.nio

import dev.tether.TetherException
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.CompletableDeferred
import java.io.IOException
import java.net.InetAddress
import java.net.InetSocketAddress
import java.nio.ByteBuffer
import java.nio.channels.ServerSocketChannel
import java.nio.channels.SocketChannel

/**
 * The socket's write side on a real loopback connection, around the moment it closes: a flush marker whose bytes were
 * all written is reached even when it is asked for, or still queued, as the socket closes (the promise "a frame
 * reported failed never reached the server"; the long invariant harness found it broken with seed 230131: a 1.2 MB
 * send reported CONNECTION_LOST had arrived); one whose bytes were not all written fails.
 */
class SocketWritesTest : FunSpec({
    val group = EventLoopGroup(1, 100)

    /** A connected loopback pair: the client side non-blocking, as Tether's; the peer reads only when told. */
    fun pair(): Pair<SocketChannel, SocketChannel> {
        ServerSocketChannel.open().bind(InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).use { server ->
            val client = SocketChannel.open(server.localAddress)
            val peer = server.accept()
            client.configureBlocking(false)
            return client to peer
        }
    }

    /** The socket as the write side sees it: open until [close]. */
    class Host : SocketWrites.Host {
        @Volatile
        var open = true

        @Volatile
        override var failure: TetherException? = null
        override val writable: Boolean get() = open && failure == null
        override fun socketFull() = Unit
        override fun writeFailed(e: IOException) {
            failure = TetherException.ConnectionLost("write failed", e)
        }
        override fun handshakeMessageSent() = Unit

        fun close(): TetherException = TetherException.ConnectionLost("the server closed the TCP connection").also { failure = it }
    }

    /** Runs [block] with a write side on a fresh loopback connection, then closes both ends. */
    fun withWrites(block: (writes: SocketWrites, host: Host, peer: SocketChannel) -> Unit) {
        val (client, peer) = pair()
        val loop = group.acquire()
        try {
            val host = Host()
            block(SocketWrites(loop, client, null, host), host, peer)
        } finally {
            client.close()
            peer.close()
            group.release(loop)
        }
    }

    fun readAll(peer: SocketChannel, n: Int): Int {
        val buf = ByteBuffer.allocate(n)
        while (buf.hasRemaining()) if (peer.read(buf) < 0) break
        return buf.position()
    }

    test("a flush marker asked for as the socket closes, after every byte before it was written, is reached") {
        withWrites { writes, host, peer ->
            writes.write(ByteBuffer.wrap(ByteArray(1000) { 7 }))
            writes.backlog shouldBe 0L // every byte is on the socket
            host.close() // the loop saw the peer go (a cut proxy) before the sender asked for its marker
            val done = CompletableDeferred<Unit>()
            writes.flushMarker(done)
            done.isCompleted shouldBe true
            done.getCompletionExceptionOrNull() shouldBe null
            readAll(peer, 1000) shouldBe 1000 // and the bytes did reach the other end
        }
    }

    test("a flush marker still queued when the socket closes is reached if every byte before it was written") {
        withWrites { writes, host, peer ->
            writes.write(ByteBuffer.wrap(ByteArray(1000) { 7 }))
            host.open = false // the close is under way: no write takes the marker up
            val done = CompletableDeferred<Unit>()
            writes.flushMarker(done)
            done.isCompleted shouldBe false
            writes.fail(host.close()) // what the loop does as it closes the socket
            done.isCompleted shouldBe true
            done.getCompletionExceptionOrNull() shouldBe null
        }
    }

    test("a flush marker behind bytes the socket did not take fails when the socket closes") {
        withWrites { writes, host, peer ->
            writes.write(ByteBuffer.wrap(ByteArray(32 shl 20))) // far more than loopback's buffers: the peer never reads
            (writes.backlog > 0) shouldBe true
            val queued = CompletableDeferred<Unit>()
            writes.flushMarker(queued)
            queued.isCompleted shouldBe false
            val cause = host.close()
            writes.fail(cause)
            queued.getCompletionExceptionOrNull().shouldBeInstanceOf<TetherException.ConnectionLost>()
            val late = CompletableDeferred<Unit>()
            writes.flushMarker(late) // asked for after the close, behind the same unwritten bytes
            late.getCompletionExceptionOrNull().shouldBeInstanceOf<TetherException.ConnectionLost>()
        }
    }

    test("write marks follow the same rule after the close: reached when every byte before them was written") {
        withWrites { writes, host, _ ->
            writes.write(ByteBuffer.wrap(ByteArray(1000) { 7 }))
            host.close()
            writes.mark().done shouldBe true
        }
        withWrites { writes, host, _ ->
            writes.write(ByteBuffer.wrap(ByteArray(32 shl 20))) // the peer never reads: most of it is never written
            host.close()
            writes.mark().done shouldBe false
        }
    }
})
