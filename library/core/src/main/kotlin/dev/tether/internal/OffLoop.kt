package dev.tether.internal

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.asExecutor
import java.util.concurrent.Executor

/**
 * Where completions that may run application code go when they happen on an I/O thread. Completing a
 * [kotlinx.coroutines.CompletableDeferred] runs its completion handlers (`invokeOnCompletion`, a Java future's
 * dependent stages) right in the completing thread; an I/O thread must never run them, so such completions hop to
 * Tether's shared pool. On any other thread they run in place (no hop).
 */
internal object OffLoop {
    private val pool: Executor = Dispatchers.Default.asExecutor()

    /** True on a `tether-io-N` thread. */
    val onIoThread: Boolean get() = Thread.currentThread() is IoThread

    /** Runs [block] now, unless this is an I/O thread: then on Tether's shared pool. */
    inline fun run(crossinline block: () -> Unit) {
        if (onIoThread) dispatch { block() } else block()
    }

    fun dispatch(block: Runnable) = pool.execute(block)
}

/** The thread of an event loop (`tether-io-N`): known by its class, so that [OffLoop] asks without a name lookup. */
internal class IoThread(target: Runnable, name: String) : Thread(target, name)
