package dev.tether.java

import dev.tether.Connection
import dev.tether.ConnectionState
import dev.tether.Frame
import dev.tether.HookScope
import dev.tether.TetherException
import dev.tether.java.internal.CallbackRunner
import dev.tether.java.internal.ConnectionEventInfos
import dev.tether.java.internal.ConnectionStatuses
import dev.tether.java.internal.DisconnectInfos
import dev.tether.java.internal.KotlinOnly
import dev.tether.webSocketClient
import java.time.Duration
import java.util.Optional
import java.util.concurrent.CompletableFuture
import java.util.concurrent.Flow
import kotlin.time.toJavaDuration
import kotlin.time.toKotlinDuration
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.asExecutor
import kotlinx.coroutines.flow.transformWhile
import kotlinx.coroutines.future.future
import kotlinx.coroutines.jdk9.asPublisher
import kotlinx.coroutines.launch
import org.slf4j.LoggerFactory

/**
 * A running, supervised connection, for Java. Every method is thread-safe. A send's future is complete when the
 * send returns if the frame was written (or refused) at once; otherwise it completes on the callback executor, never
 * on a socket thread. The other futures complete on Tether's shared pool (use the `…Async` variants of
 * `CompletableFuture` to continue elsewhere). [AutoCloseable]: [close] closes with
 * 1000 and waits until everything has ended.
 *
 * Cost: a send queues the frame from the calling thread (no coroutine, no executor hop); listener methods run in
 * batches, one executor task for every run of queued events.
 */
public class TetherConnection internal constructor(
    private val client: TetherClient,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) : AutoCloseable {
    private val log = LoggerFactory.getLogger("dev.tether.java.TetherConnection")
    private val listener = client.listener
    private val callbacks = CallbackRunner(client.executor)
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineName("tether-java"))
    private val stateDelivered = kotlinx.coroutines.CompletableDeferred<Unit>()

    /** Completed once [core] is set: hooks wait for it, so no listener sees a half-built connection. */
    private val ready = kotlinx.coroutines.CompletableDeferred<Unit>()
    private val frameHooks = overrides("onText", String::class.java) || overrides("onBinary", ByteArray::class.java)

    /** The hook scope of the `onConnect` running now, on the listener's thread: sends from `onOpen` go first. */
    private val openScope = ThreadLocal<HookScope?>()

    @Volatile
    private var coreRef: Connection? = null
    private val core: Connection get() = coreRef ?: error("the connection is not started")

    /** Messages for [receive], moved from the core's incoming channel by one pump coroutine, started on first use. */
    private val received = java.util.concurrent.ArrayBlockingQueue<Any>(client.incomingCapacity + 1)
    private val pumpStarted = java.util.concurrent.atomic.AtomicBoolean()
    private val pumpRoom = kotlinx.coroutines.channels.Channel<Unit>(kotlinx.coroutines.channels.Channel.CONFLATED)

    /** Starts the core connection; called once, right after construction. */
    @JvmSynthetic
    internal fun start(): TetherConnection {
        val self = this
        coreRef = webSocketClient(client.url) {
            client.configure(this)
            // the hooks run on the listener's executor, in the facade's queue: a listener method is called right in
            // the hook, so a batch of events costs one executor task
            hookDispatcher = callbacks.asCoroutineDispatcher()
            onConnect {
                ready.await()
                openScope.set(this)
                try {
                    listener.onOpen(self, status())
                } finally {
                    openScope.remove()
                }
            }
            if (frameHooks) {
                onText { text -> ready.await(); listener.onText(self, text) }
                onBinary { bytes -> ready.await(); listener.onBinary(self, bytes) }
            }
            onPing { p -> ready.await(); listener.onPing(self, p) }
            onPong { p, rtt -> ready.await(); listener.onPong(self, p, rtt?.toJavaDuration()) }
            onError { e ->
                ready.await()
                guarded("onError") { listener.onError(self, e) }
                client.errorHandler?.onError(e, attempt)?.core ?: defaultDecision(e) // core's rule, reconnect off included
            }
            onDisconnect { d ->
                ready.await()
                val info = DisconnectInfos.of(d)
                guarded("onDisconnect") { listener.onDisconnect(self, info) }
                client.disconnectHandler?.onDisconnect(info, attempt)?.core ?: defaultDecision(d)
            }
            onTerminate { closed ->
                // last of all: after the other hooks (the core runs this one after them) and after onStateChange(CLOSED)
                stateDelivered.await()
                guarded("onTerminate") { listener.onTerminate(self, ConnectionStatuses.of(closed)) }
            }
        }.connect()
        ready.complete(Unit)
        // ends by itself after Closed, so the facade's scope needs no cancelling: its work ends with the connection
        scope.launch(CoroutineName("tether-java-state")) {
            core.state.transformWhile { emit(it); it !is ConnectionState.Closed }.collect { s ->
                callbacks.post { guarded("onStateChange") { listener.onStateChange(self, ConnectionStatuses.of(s)) } }
            }
            callbacks.call { }
            stateDelivered.complete(Unit)
        }
        return this
    }

    /**
     * The underlying connection, for tools written against Tether's core, e.g.
     * `TetherMetrics.bind(connection.core(), registry)` from `tether-micrometer`. Its suspending methods are not for
     * Java; use this facade's methods to talk to the connection.
     */
    public fun core(): dev.tether.Connection = core

    /** The connection's id (e.g. `c7-3fa2`), kept across reconnects; every log line of the connection starts with it. */
    public fun id(): String = core.id

    /**
     * Calls [listener] with every event of the connection from now on (see `Connection.events`), in order, on the
     * callback executor. Never blocks the connection: a listener more than `Connection.EVENT_BUFFER` events behind
     * misses the newest ones and is told how many with an EVENTS_DROPPED event. Close the result to stop; a listener
     * that throws is reported (HandlerFailed "onEvent") and keeps receiving.
     */
    public fun addEventListener(listener: ConnectionEventListener): AutoCloseable {
        val job = scope.launch(CoroutineName("tether-java-events"), start = kotlinx.coroutines.CoroutineStart.UNDISPATCHED) {
            core.events.collect { e ->
                val info = ConnectionEventInfos.of(e)
                callbacks.call { guarded("onEvent") { listener.onEvent(info) } }
            }
        }
        return AutoCloseable { job.cancel() }
    }

    /** The current state. */
    public fun status(): ConnectionStatus = coreRef?.state?.value?.let { ConnectionStatuses.of(it) } ?: ConnectionStatuses.notStarted()

    /** True while connected. */
    public fun isOpen(): Boolean = coreRef?.state?.value is ConnectionState.Connected

    /**
     * Sends a text message; the future completes once it is written to the socket, or fails with
     * [TetherException.SendFailed] (buffer policy, offline policy, connection lost, closed). Cancelling the future
     * before the frame is written withdraws it. Never blocks: sends from one thread are written in call order
     * (with the SUSPEND policy, frames that find the buffer full wait in line). Sent from `onOpen`, frames go
     * before anything queued while offline.
     */
    public fun sendText(text: String): CompletableFuture<Void?> = send(Frame.Text(text))

    /** Sends a binary message (a copy of [bytes]); see [sendText]. */
    public fun sendBinary(bytes: ByteArray): CompletableFuture<Void?> = send(Frame.Binary(bytes))

    /** Sends any frame; see [sendText]. A [Frame.Close] closes the connection. */
    public fun send(frame: Frame): CompletableFuture<Void?> {
        val written = openScope.get()?.enqueue(frame) ?: core.enqueue(frame)
        return SendFuture(written)
    }

    /**
     * Sends [value] encoded by [codec] (your Jackson or Gson mapper behind `dev.tether.MessageCodec`), like
     * [send]. The future fails with `TetherException.EncodeFailed` if the codec throws (nothing is sent).
     */
    @OptIn(dev.tether.engine.TetherEngineApi::class)
    public fun <T> send(value: T, codec: dev.tether.MessageCodec<T>): CompletableFuture<Void?> {
        val frame = try {
            codec.encode(value)
        } catch (e: Exception) {
            return CompletableFuture.failedFuture(TetherException.EncodeFailed("the codec refused the value: ${e.message}", e))
        }
        return send(frame)
    }

    /**
     * Waits up to [timeout] for the next message that [codec] decodes; one that does not is reported to the
     * listener's `onError` as `TetherException.DecodeFailed` with the raw frame, and skipped. Empty on a time-out.
     * @throws ConnectionClosedException once the connection has closed and every message was taken.
     */
    @OptIn(dev.tether.engine.TetherEngineApi::class)
    public fun <T : Any> receive(codec: dev.tether.MessageCodec<T>, timeout: Duration): Optional<T> {
        val deadline = System.nanoTime() + timeout.toNanos()
        while (true) {
            val left = deadline - System.nanoTime()
            val next: Optional<Frame> = receive(Duration.ofNanos(maxOf(0L, left)))
            if (!next.isPresent) return Optional.empty()
            val frame = next.get()
            try {
                return Optional.of(codec.decode(frame))
            } catch (e: Exception) {
                val error = TetherException.DecodeFailed("$frame did not decode: ${e.message}", e, frame)
                log.warn("[{}] {}", core.id, error.message)
                callbacks.post { guarded("onError") { listener.onError(this, error) } }
            }
        }
    }

    /**
     * Sends [frame] with a time to live of its own: if it is still waiting in the outbox (offline, or behind a full
     * buffer) after [timeToLive], the future fails with `SendFailed(EXPIRED)` and the frame is never sent.
     */
    public fun send(frame: Frame, timeToLive: Duration): CompletableFuture<Void?> =
        SendFuture(core.enqueue(frame, timeToLive.toKotlinDuration()))

    /**
     * Closes: stops reconnecting, writes what is queued, runs the closing handshake (forced shut after the close
     * timeout) and ends all work. Completes with the final status, within the close timeout plus 1 s. Idempotent.
     * From a listener method, do not wait for the future (the end waits for listener methods to return).
     * @throws IllegalArgumentException at once for an invalid code or a reason over 123 bytes of UTF-8.
     */
    public fun close(code: Int, reason: String): CompletableFuture<ConnectionStatus> {
        dev.tether.CloseCodes.requireValid(code, reason)
        core.enqueue(Frame.Close(code, reason)) // asks now, from this thread: later sends cannot overtake it
        return scope.future { ConnectionStatuses.of(core.close(code, reason)) }
    }

    /**
     * Closes with 1000 and blocks until everything has ended (safe on virtual threads), at most the close timeout
     * plus 2 s. Called from a listener method it asks for the close and returns at once (waiting there would wait
     * for itself).
     */
    override fun close() {
        if (callbacks.isCurrentThreadInside) {
            core.enqueue(Frame.Close(1000, ""))
            return
        }
        core.close()
    }

    /**
     * Completes with the status once connected (at once if connected); fails if the connection closes first or
     * goes down (a refusal such as a 404 or a 401 without a connect provider) with no `reconnect()` pending.
     */
    public fun awaitConnected(): CompletableFuture<ConnectionStatus> = scope.future { ConnectionStatuses.of(core.awaitConnected()) }

    /**
     * Pauses: closes the connection gracefully or stops trying, keeps what is queued, and stays PAUSED until
     * [resume] (for the app's lifecycle; see also [TetherClient.Builder.gate]).
     */
    public fun pause() {
        core.pause()
    }

    /** Ends a pause (or an idle pause): connects at once, with the attempt count reset. */
    public fun resume() {
        core.resume()
    }

    /** Connects again now (ends a backoff wait or a stay-down; when connected, drops the link and reconnects). */
    public fun reconnect() {
        core.reconnect()
    }

    /**
     * The next message (text or binary), waiting up to [timeout]; empty on time-out. Once the connection is closed
     * and every message it received has been taken, it throws [ConnectionClosedException] (the end of the stream),
     * so a receive loop ends instead of spinning. Blocks the calling thread (parks it: cheap on virtual threads).
     * Messages come here unless the listener overrides `onText`/`onBinary` (then this throws
     * [IllegalStateException]). Single consumer: do not mix with [frames].
     */
    @Throws(InterruptedException::class)
    public fun receive(timeout: Duration): Optional<Frame> {
        check(!frameHooks) { "messages go to the listener's onText/onBinary, not to receive()" }
        if (pumpStarted.compareAndSet(false, true)) startPump()
        val item = received.poll(timeout.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS)
            ?: return Optional.empty()
        if (item === END) {
            received.offer(END) // every later call sees the end too
            throw ConnectionClosedException(status())
        }
        pumpRoom.trySend(Unit)
        return Optional.of(item as Frame)
    }

    /** Moves messages from the core's incoming channel to [received], waiting when it is full; then marks the end. */
    private fun startPump() {
        scope.launch(Dispatchers.Unconfined + CoroutineName("tether-java-receive")) {
            for (f in core.incoming) {
                while (!received.offer(f)) pumpRoom.receive()
            }
            while (!received.offer(END)) pumpRoom.receive()
        }
    }

    /**
     * The messages as a [Flow.Publisher] that honours backpressure: it takes from the incoming buffer only what
     * subscribers request, so a slow subscriber slows the socket reader. Single subscriber at a time.
     */
    public fun frames(): Flow.Publisher<Frame> = core.frames.asPublisher(Dispatchers.Default)

    override fun toString(): String = "TetherConnection(${status()})"

    @JvmSynthetic
    internal fun firstConnect(): CompletableFuture<TetherConnection> {
        val f = scope.future {
            try {
                core.awaitConnected()
            } catch (e: IllegalStateException) {
                val s = core.state.value
                throw (s as? ConnectionState.Closed)?.cause ?: (s as? ConnectionState.Down)?.cause ?: e
            }
            this@TetherConnection
        }
        // cancelled, or failed (closed, or down after a refusal such as a 404): the caller has no handle, so end it
        f.whenComplete { _, e -> if (e != null) core.enqueue(Frame.Close(1000, "")) }
        return f
    }

    private fun overrides(name: String, type: Class<*>): Boolean =
        listener.javaClass.getMethod(name, TetherConnection::class.java, type).declaringClass != Listener::class.java

    /**
     * Runs a listener method whose throw cannot go through the core's hook path: it is logged and reported to
     * `onError` (a throw from `onError` itself is only logged).
     */
    private inline fun guarded(what: String, block: () -> Unit) {
        try {
            block()
        } catch (e: Exception) {
            log.warn("[{}] listener {} threw", coreRef?.id ?: "-", what, e)
            if (what != "onError") {
                try {
                    listener.onError(this, TetherException.HandlerFailed(what, e))
                } catch (again: Exception) {
                    log.warn("[{}] listener onError threw", coreRef?.id ?: "-", again)
                }
            }
        }
    }

    /**
     * A send's future: cancelling it withdraws the frame if it is not written yet. Written (or refused) at once, it is
     * complete when the send returns. Otherwise it completes on the callback executor, as the JDK's `HttpClient`
     * runs dependent actions on its executor: a `thenRun` never runs on a socket thread. A listener method that
     * blocks on it (`get`, `join`) completes it itself when the result arrives, so a single-threaded executor does
     * not deadlock; an executor that refuses work completes it in Tether's shared pool.
     */
    @OptIn(kotlinx.coroutines.ExperimentalCoroutinesApi::class) // getCompletionExceptionOrNull
    private inner class SendFuture(private val written: Deferred<Unit>) : CompletableFuture<Void?>() {
        /** The result once it arrived (null: not yet; [WRITTEN] or the failure). */
        @Volatile
        private var arrived: Any? = null

        /** Set while a listener method waits on this future on the callback executor. */
        @Volatile
        private var listenerWaits = false

        init {
            if (written.isCompleted) {
                settle(written.getCompletionExceptionOrNull()) // at once, in the caller: no hop
            } else {
                written.invokeOnCompletion { e ->
                    arrived = e ?: WRITTEN
                    if (listenerWaits) {
                        settle(e)
                    } else {
                        try {
                            client.executor.execute { settle(e) }
                        } catch (refused: java.util.concurrent.RejectedExecutionException) {
                            kotlinx.coroutines.Dispatchers.Default.asExecutor().execute { settle(e) }
                        }
                    }
                }
            }
        }

        private fun settle(e: Throwable?) {
            when (e) {
                null -> complete(null)
                is kotlinx.coroutines.CancellationException -> super.cancel(false)
                else -> completeExceptionally(e)
            }
        }

        /** Called before a blocking wait: from a listener method, the result must not wait for the executor. */
        private fun beforeWait() {
            if (isDone || !callbacks.isCurrentThreadInside) return
            listenerWaits = true
            arrived?.let { settle(if (it === WRITTEN) null else it as Throwable) }
        }

        override fun get(): Void? {
            beforeWait()
            return super.get()
        }

        override fun get(timeout: Long, unit: java.util.concurrent.TimeUnit): Void? {
            beforeWait()
            return super.get(timeout, unit)
        }

        override fun join(): Void? {
            beforeWait()
            return super.join()
        }

        override fun cancel(mayInterruptIfRunning: Boolean): Boolean {
            written.cancel()
            return super.cancel(mayInterruptIfRunning)
        }
    }

    private companion object {
        /** The end of the stream in [received]. */
        val END = Any()

        /** [SendFuture]'s marker for a result that arrived as "written". */
        val WRITTEN = Any()
    }
}
