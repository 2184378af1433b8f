package dev.tether.internal.nio

import dev.tether.internal.IoThread
import kotlinx.coroutines.CoroutineDispatcher
import org.slf4j.LoggerFactory
import java.io.IOException
import java.nio.ByteBuffer
import java.nio.channels.SelectionKey
import java.nio.channels.Selector
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.coroutines.CoroutineContext

/** What a registered channel does when its key is ready. Called on the loop thread only. */
internal interface IoHandler {
    fun onReady(key: SelectionKey)

    /** Tether failed on this channel (a bug, an allocation that failed) or the loop itself died: release the socket. */
    fun onFailure(e: Throwable)
}

/**
 * One selector thread: it waits on its [Selector], runs the handlers of ready keys, then the tasks other threads
 * handed it. It is also a [CoroutineDispatcher], so that Tether's reader coroutines run right here and a parsed frame
 * reaches them without a thread hop. Never runs user code.
 *
 * The thread lives while channels are registered and for [EventLoopGroup]'s linger after the last one leaves.
 */
internal class EventLoop(val group: EventLoopGroup, val name: String) : CoroutineDispatcher(), Runnable {
    val selector: Selector = Selector.open()
    private val tasks = ConcurrentLinkedQueue<Runnable>()
    private val wakeupPending = AtomicBoolean()
    private val thread = IoThread(this, name).apply { isDaemon = true }

    /** Channels registered on this loop; guarded by the group's lock. */
    @Volatile
    var channels: Int = 0

    /** When the loop last became idle (System.nanoTime), 0 while busy; loop thread only. */
    var idleSince: Long = 0L

    /** Scratch buffers for reads, shared by every channel of this loop (loop thread only). */
    val readBuffer: ByteBuffer = ByteBuffer.allocateDirect(READ_BUFFER)

    /** Plain text from TLS records, shared by every TLS channel of this loop (loop thread only). */
    var tlsAppBuffer: ByteBuffer = ByteBuffer.allocate(TLS_APP_BUFFER)

    fun start() = thread.start()

    val inLoop: Boolean get() = Thread.currentThread() === thread

    /** Runs [task] on the loop: later in this iteration when called from the loop, else after a wake-up. */
    fun execute(task: Runnable) {
        tasks.add(task)
        if (!inLoop && wakeupPending.compareAndSet(false, true)) selector.wakeup()
    }

    override fun dispatch(context: CoroutineContext, block: Runnable) = execute(block)

    override fun run() {
        try {
            while (true) {
                if (tasks.isEmpty()) selector.select(group.lingerMillis) else selector.selectNow()
                wakeupPending.set(false)
                val keys = selector.selectedKeys()
                if (keys.isNotEmpty()) {
                    val it = keys.iterator()
                    while (it.hasNext()) {
                        val key = it.next()
                        it.remove()
                        val handler = key.attachment() as IoHandler
                        try {
                            if (key.isValid) handler.onReady(key)
                        } catch (e: Throwable) {
                            // an allocation that failed or a stack that overflowed ends this connection only (both
                            // leave the VM sound once unwound); other VM errors end the loop
                            if (e is VirtualMachineError && e !is OutOfMemoryError && e !is StackOverflowError) throw e
                            log.warn("[{}] a connection failed inside Tether", name, e)
                            handler.onFailure(e)
                        }
                    }
                }
                runTasks()
                if (group.mayRetire(this)) break
            }
        } catch (e: Throwable) {
            log.error("[{}] the event loop failed", name, e)
            group.failed(this)
            selector.keys().forEach { k -> runCatching { (k.attachment() as IoHandler).onFailure(e) } }
        } finally {
            runTasks()
            try {
                selector.close()
            } catch (e: IOException) {
                // nothing to release
            }
        }
    }

    private fun runTasks() {
        while (true) {
            val t = tasks.poll() ?: return
            try {
                t.run()
            } catch (e: Throwable) {
                if (e is VirtualMachineError && e !is OutOfMemoryError && e !is StackOverflowError) throw e
                log.warn("[{}] a task failed", name, e)
            }
        }
    }

    override fun toString(): String = name

    private companion object {
        val log = LoggerFactory.getLogger(EventLoop::class.java)
        const val READ_BUFFER = 64 * 1024
        const val TLS_APP_BUFFER = 33 * 1024
    }
}
