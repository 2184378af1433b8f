package dev.tether.java.internal

import kotlinx.coroutines.suspendCancellableCoroutine
import java.util.concurrent.Executor
import kotlin.coroutines.resume
import kotlin.coroutines.resumeWithException

/**
 * Runs user callbacks on the caller's executor, one at a time and in order ([SerialExecutor]); [call] suspends
 * until the callback has run, so slow callbacks push back instead of queueing without bound.
 */
internal class CallbackRunner(executor: Executor) {
    private val serial = SerialExecutor(executor)

    suspend fun <T> call(block: () -> T): T = suspendCancellableCoroutine { cont ->
        serial.execute {
            try {
                cont.resume(block())
            } catch (e: Throwable) {
                cont.resumeWithException(e)
            }
        }
    }

    fun post(block: () -> Unit) {
        serial.execute(block)
    }
}
