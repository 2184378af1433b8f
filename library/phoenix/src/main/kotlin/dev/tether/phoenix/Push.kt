package dev.tether.phoenix

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlin.time.Duration

/**
 * One push to a channel and its reply. The timeout starts when the push is made, even while it waits for the
 * channel to be joined. Thread-safe.
 */
public class Push internal constructor(
    /** The channel pushed to. */
    public val channel: PhoenixChannel,
    /** The event name. */
    public val event: String,
    /** The payload. */
    public val payload: Payload,
    /** How long the reply may take. */
    public val timeout: Duration,
    private val onDone: (Push, Reply) -> Unit = { _, _ -> },
) {
    private val result = CompletableDeferred<Reply>()
    private var timer: Job? = null

    /** The message reference, once sent. */
    @Volatile
    public var ref: String? = null
        internal set

    /** True once a reply (or the timeout) arrived. */
    public val isDone: Boolean get() = done.get()

    /** Suspends until the reply: [Reply.Ok], [Reply.Error] or [Reply.Timeout]. */
    public suspend fun await(): Reply = result.await()

    /** Calls [callback] with the reply, on the socket's serial dispatcher (at once if it already arrived). */
    public fun onReply(callback: (Reply) -> Unit) {
        result.invokeOnCompletion { if (it == null) callback(result.getCompleted()) }
    }

    internal fun startTimer() {
        timer = channel.socket.scope.launch { delay(timeout); complete(Reply.Timeout) }
    }

    private val done = java.util.concurrent.atomic.AtomicBoolean(false)

    /** The channel's handler runs first, so its state is settled before anyone sees the reply. */
    internal fun complete(reply: Reply) {
        if (done.compareAndSet(false, true)) {
            timer?.cancel()
            try {
                onDone(this, reply)
            } finally {
                result.complete(reply)
            }
        }
    }

    /** Forgets the push without a reply (a join from a connection that is gone). */
    internal fun abandon() {
        timer?.cancel()
    }

    override fun toString(): String = "Push(${channel.topic} $event ref=$ref)"
}
