package dev.tether.internal

import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.suspendCancellableCoroutine
import java.util.concurrent.atomic.AtomicReference
import kotlin.coroutines.resume

/**
 * A conflated wake-up for one waiter: [signal] from any thread, [await] from one coroutine at a time. A signal with
 * no waiter is kept for the next [await]. A few bytes, where a conflated `Channel` costs a segment: connections keep
 * several of these for their whole life.
 */
internal class Signal {
    private val state = AtomicReference<Any?>(null) // null, SET, or the waiting continuation

    fun signal() {
        while (true) {
            when (val s = state.get()) {
                SET -> return
                null -> if (state.compareAndSet(null, SET)) return
                else -> if (state.compareAndSet(s, null)) {
                    @Suppress("UNCHECKED_CAST")
                    (s as CancellableContinuation<Unit>).resume(Unit)
                    return
                }
            }
        }
    }

    suspend fun await() {
        if (state.compareAndSet(SET, null)) return
        suspendCancellableCoroutine<Unit> { c ->
            while (true) {
                if (state.compareAndSet(null, c)) break
                if (state.compareAndSet(SET, null)) {
                    c.resume(Unit)
                    break
                }
            }
            c.invokeOnCancellation { state.compareAndSet(c, null) }
        }
    }

    private companion object {
        val SET = Any()
    }
}
