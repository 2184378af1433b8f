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
    /** An ordinary push (not a join or leave): its reply may be completed on the socket reader. */
    @get:JvmSynthetic
    internal val plain: Boolean = false,
    private val onDone: (Push, Reply) -> Unit = { _, _ -> },
) {
    private val result = CompletableDeferred<Reply>()

    /** When [timeout] runs out ([System.nanoTime]); the socket's sweeper completes the push with a timeout then. */
    @get:JvmSynthetic
    internal val deadline: Long = System.nanoTime() + timeout.inWholeNanoseconds

    /** The order pushes to a channel were made in (set by the channel); held pushes are sent in this order. */
    @Volatile
    @get:JvmSynthetic
    @set:JvmSynthetic
    internal var seq: Long = 0

    /** The message reference, once sent. */
    @Volatile
    public var ref: String? = null
        @JvmSynthetic internal set

    /** True once a reply (or the timeout) arrived. */
    public val isDone: Boolean get() = done.get()

    /** Suspends until the reply: [Reply.Ok], [Reply.Error] or [Reply.Timeout]. */
    public suspend fun await(): Reply = result.await()

    /**
     * Calls [callback] with the reply, on the socket's serial dispatcher (at once if it already arrived). A callback
     * that throws is reported to the socket's `onError` as `HandlerFailed("Push.onReply")`; nothing else is harmed.
     */
    @OptIn(kotlinx.coroutines.DelicateCoroutinesApi::class) // CoroutineStart.ATOMIC: see below
    public fun onReply(callback: (Reply) -> Unit) {
        // a reply may be completed on the socket reader's thread: the callback always runs on the serial dispatcher
        result.invokeOnCompletion {
            val reply = outcome
            // ATOMIC: it runs even when the reply is the Timeout the socket's end gives (its scope is cancelled then)
            if (it == null && reply != null) {
                channel.socket.scope.launch(start = kotlinx.coroutines.CoroutineStart.ATOMIC) {
                    channel.socket.guarded("Push.onReply") { callback(reply) }
                }
            }
        }
    }

    /**
     * Suspends until the reply and decodes an `ok` response with [deserializer].
     * @throws PhoenixReplyException if the reply is `error`, a timeout or a failure to send.
     * @throws dev.tether.TetherException.DecodeFailed if the response does not fit.
     */
    public suspend fun <T> awaitOk(deserializer: kotlinx.serialization.KSerializer<T>): T =
        when (val r = await()) {
            is Reply.Ok -> r.response.decode(deserializer, channel.socket.config.json)
            else -> throw PhoenixReplyException(r)
        }

    @JvmSynthetic
    internal fun startTimer() {
        channel.socket.wakeSweeper()
    }

    /** Completes with the reason the push could not be sent or written. */
    @JvmSynthetic
    internal fun failed(cause: dev.tether.TetherException) {
        complete(Reply.Failed(cause))
    }

    private val done = java.util.concurrent.atomic.AtomicBoolean(false)

    /** The reply, set before [result] completes. */
    @Volatile
    private var outcome: Reply? = null

    /** The channel's handler runs first, so its state is settled before anyone sees the reply. */
    @JvmSynthetic
    internal fun complete(reply: Reply) {
        if (done.compareAndSet(false, true)) {
            outcome = reply
            try {
                onDone(this, reply)
            } finally {
                result.complete(reply)
            }
        }
    }

    /** Forgets the push without a reply (a join from a connection that is gone): it is never completed. */
    @JvmSynthetic
    internal fun abandon() {
        abandoned = true
    }

    /** Set by [abandon]: the sweeper drops it without a timeout. */
    @Volatile
    @get:JvmSynthetic @set:JvmSynthetic
    internal var abandoned: Boolean = false

    override fun toString(): String = "Push(${channel.topic} $event ref=$ref)"
}
