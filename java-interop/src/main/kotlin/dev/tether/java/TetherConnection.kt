package dev.tether.java

import dev.tether.java.internal.CallbackRunner

import dev.tether.Connection
import dev.tether.ConnectionState
import dev.tether.Decision as CoreDecision
import dev.tether.DefaultPolicy
import dev.tether.Frame
import dev.tether.TetherException
import dev.tether.webSocketClient
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.flow.transformWhile
import kotlinx.coroutines.future.future
import kotlinx.coroutines.jdk9.asPublisher
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeoutOrNull
import org.slf4j.LoggerFactory
import java.time.Duration
import java.util.Optional
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ExecutionException
import java.util.concurrent.Flow
import kotlin.time.toJavaDuration
import kotlin.time.toKotlinDuration

/**
 * A running, supervised connection, for Java. Every method is thread-safe; futures complete on Tether's threads
 * (use the `…Async` variants of `CompletableFuture` to continue elsewhere). [AutoCloseable]: [close] closes with
 * 1000 and waits until everything has ended.
 */
public class TetherConnection internal constructor(private val client: TetherClient) : AutoCloseable {
    private val log = LoggerFactory.getLogger("dev.tether.java.TetherConnection")
    private val callbacks = CallbackRunner(client.executor)
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineName("tether-java"))
    private val listener = client.listener
    private val stateDelivered = kotlinx.coroutines.CompletableDeferred<Unit>()
    private val core: Connection

    init {
        val frameHooks = overrides("onText", String::class.java) || overrides("onBinary", ByteArray::class.java)
        val self = this
        core = webSocketClient(client.url) {
            client.configure(this)
            onConnect { onCallbacks { listener.onOpen(self, status()) } }
            if (frameHooks) {
                onText { text -> onCallbacks { listener.onText(self, text) } }
                onBinary { bytes -> onCallbacks { listener.onBinary(self, bytes) } }
            }
            onPing { p -> onCallbacks { listener.onPing(self, p) } }
            onPong { p, rtt -> onCallbacks { listener.onPong(self, p, rtt?.toJavaDuration()) } }
            onError { e ->
                val attempt = attempt
                onCallbacks {
                    guarded("onError") { listener.onError(self, e) }
                    client.errorHandler?.onError(e, attempt)?.core ?: defaults(DefaultPolicy.onError(e, client.hasConnectProvider))
                }
            }
            onDisconnect { d ->
                val attempt = attempt
                val info = DisconnectInfo.of(d)
                onCallbacks {
                    guarded("onDisconnect") { listener.onDisconnect(self, info) }
                    client.disconnectHandler?.onDisconnect(info, attempt)?.core ?: defaults(DefaultPolicy.onDisconnect(d))
                }
            }
            onTerminate { closed ->
                // last of all: after the other hooks (the core runs this one after them) and after onStateChange(CLOSED)
                stateDelivered.await()
                onCallbacks { guarded("onTerminate") { listener.onTerminate(self, ConnectionStatus.of(closed)) } }
            }
        }.connect()
        // ends by itself after Closed, so the facade's scope needs no cancelling: its work ends with the connection
        scope.launch(CoroutineName("tether-java-state")) {
            core.state.transformWhile { emit(it); it !is ConnectionState.Closed }.collect { s ->
                onCallbacks { guarded("onStateChange") { listener.onStateChange(self, ConnectionStatus.of(s)) } }
            }
            stateDelivered.complete(Unit)
        }
    }

    /** The current state. */
    public fun status(): ConnectionStatus = ConnectionStatus.of(core.state.value)

    /** True while connected. */
    public fun isOpen(): Boolean = core.state.value is ConnectionState.Connected

    /**
     * Sends a text message; the future completes once it is written to the socket, or fails with
     * [TetherException.SendFailed] (buffer policy, offline policy, connection lost, closed). Cancelling the future
     * before the frame is written withdraws it.
     */
    public fun sendText(text: String): CompletableFuture<Void?> = send(Frame.Text(text))

    /** Sends a binary message (a copy of [bytes]); see [sendText]. */
    public fun sendBinary(bytes: ByteArray): CompletableFuture<Void?> = send(Frame.Binary(bytes))

    /** Sends any frame; see [sendText]. A [Frame.Close] closes the connection. */
    public fun send(frame: Frame): CompletableFuture<Void?> = scope.future {
        core.send(frame)
        null
    }

    /**
     * Closes: stops reconnecting, writes what is queued, runs the closing handshake (forced shut after the close
     * timeout) and ends all work. Completes with the final status. Idempotent.
     * @throws IllegalArgumentException at once for an invalid code or a reason over 123 bytes of UTF-8.
     */
    public fun close(code: Int, reason: String): CompletableFuture<ConnectionStatus> {
        dev.tether.CloseCodes.requireValid(code, reason)
        return scope.future { ConnectionStatus.of(core.close(code, reason)) }
    }

    /** Closes with 1000 and blocks until everything has ended (safe on virtual threads). */
    override fun close() {
        close(1000, "").join()
    }

    /** Completes with the status once connected (at once if connected); fails if the connection closes first. */
    public fun awaitConnected(): CompletableFuture<ConnectionStatus> = scope.future { ConnectionStatus.of(core.awaitConnected()) }

    /** Connects again now (ends a backoff wait or a stay-down; when connected, drops and reconnects). */
    public fun reconnect() {
        core.reconnect()
    }

    /**
     * The next message (text or binary), waiting up to [timeout]; empty on time-out or once closed. Blocks the
     * calling thread (parks it: cheap on virtual threads). Messages come here unless the listener overrides
     * `onText`/`onBinary`. Single consumer: do not mix with [frames].
     */
    @Throws(InterruptedException::class)
    public fun receive(timeout: Duration): Optional<Frame> {
        val f = scope.future { withTimeoutOrNull(timeout.toKotlinDuration()) { core.incoming.receiveCatching().getOrNull() } }
        return try {
            Optional.ofNullable(f.get())
        } catch (e: InterruptedException) {
            f.cancel(true)
            throw e
        } catch (e: ExecutionException) {
            Optional.empty()
        } catch (e: java.util.concurrent.CancellationException) {
            Optional.empty()
        }
    }

    /**
     * The messages as a [Flow.Publisher] that honours backpressure: it takes from the incoming buffer only what
     * subscribers request, so a slow subscriber slows the socket reader. Single subscriber at a time.
     */
    public fun frames(): Flow.Publisher<Frame> = core.frames.asPublisher(Dispatchers.Default)

    override fun toString(): String = "TetherConnection(${core.state.value})"

    internal fun firstConnect(): CompletableFuture<TetherConnection> {
        val f = scope.future {
            try {
                core.awaitConnected()
            } catch (e: IllegalStateException) {
                throw (core.state.value as? ConnectionState.Closed)?.cause ?: e
            }
            this@TetherConnection
        }
        f.whenComplete { _, e -> if (e is java.util.concurrent.CancellationException) close(1000, "") }
        return f
    }

    private fun overrides(name: String, type: Class<*>): Boolean =
        listener.javaClass.getMethod(name, TetherConnection::class.java, type).declaringClass != Listener::class.java

    /** With reconnect disabled, a default that would reconnect closes instead (as the core does). */
    private fun defaults(d: CoreDecision): CoreDecision =
        if (!client.reconnectEnabled && (d is CoreDecision.Reconnect || d is CoreDecision.ReconnectAfter)) CoreDecision.Close() else d

    /**
     * Runs a listener method whose throw cannot go through the core's hook path: it is logged and reported to
     * `onError` (a throw from `onError` itself is only logged).
     */
    private inline fun guarded(what: String, block: () -> Unit) {
        try {
            block()
        } catch (e: Exception) {
            log.warn("listener {} threw: {}", what, e.toString())
            if (what != "onError") {
                try {
                    listener.onError(this, TetherException.HandlerFailed(what, e))
                } catch (again: Exception) {
                    log.warn("listener onError threw: {}", again.toString())
                }
            }
        }
    }

    /** Runs [block] on the callback executor, in order, and waits for it (backpressure on slow listeners). */
    private suspend fun <T> onCallbacks(block: () -> T): T = callbacks.call(block)
}
