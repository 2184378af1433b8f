package dev.tether.java

import dev.tether.java.internal.CallbackRunner
import dev.tether.java.internal.ConnectionStatuses
import dev.tether.java.internal.KotlinOnly
import dev.tether.java.internal.PhoenixEventInfos
import dev.tether.java.internal.PhoenixMessages
import dev.tether.java.internal.PhoenixReplies
import dev.tether.phoenix.ChannelState
import dev.tether.phoenix.Payload
import dev.tether.phoenix.PhoenixChannel
import dev.tether.phoenix.PhoenixSocket
import dev.tether.phoenix.phoenixSocket
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CompletionStage
import java.util.concurrent.Executor
import java.util.function.IntFunction
import java.util.function.Supplier
import kotlin.time.toKotlinDuration
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.asExecutor
import kotlinx.coroutines.cancel
import kotlinx.coroutines.future.await
import kotlinx.coroutines.future.future
import kotlinx.coroutines.launch
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject

/**
 * A Phoenix Channels socket for Java: futures for joins, leaves and pushes, listeners on an executor of your
 * choice, JSON as text. See `docs/java.md`.
 *
 * ```java
 * try (PhoenixClient socket = PhoenixClient.builder("ws://127.0.0.1:4000/socket").build().connect()) {
 *     PhoenixClient.Channel room = socket.channel("room:lobby");
 *     room.join().get(5, TimeUnit.SECONDS);
 *     room.push("new_msg", "{\"body\":\"hi\"}").get(5, TimeUnit.SECONDS);
 * }
 * ```
 */
public class PhoenixClient private constructor(
    private val socket: PhoenixSocket,
    executor: Executor,
    private val onError: java.util.function.Consumer<dev.tether.TetherException>?,
) : AutoCloseable {
    private val log = org.slf4j.LoggerFactory.getLogger("dev.tether.java.PhoenixClient")

    /** The socket's connection id for log lines, or `-` before it connects. */
    private val logId: String get() = if (started) socket.connection.id else "-"

    /** Runs a listener method on the callback executor and waits for it; a throw goes to [listenerFailed]. */
    private suspend fun callListener(name: String, block: () -> Unit) {
        callbacks.call {
            try {
                block()
            } catch (t: Exception) {
                listenerFailed(name, t)
            }
        }
    }

    /** A listener of yours threw: logged and given to the builder's `onError`; nothing else is harmed. */
    private fun listenerFailed(name: String, e: Throwable) {
        val error = dev.tether.TetherException.HandlerFailed(name, e)
        log.warn("[{}] listener {} threw", logId, name, e)
        try {
            onError?.accept(error)
        } catch (again: Exception) {
            log.warn("[{}] onError threw", logId, again)
        }
    }

    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineName("tether-java-phoenix"))
    private val callbacks = CallbackRunner(executor)

    /** Starts connecting (and reconnecting) and returns this client. */
    public fun connect(): PhoenixClient {
        socket.connect()
        started = true
        return this
    }

    /** True while the socket is connected. */
    public fun isConnected(): Boolean = socket.isConnected

    /**
     * The socket's connection state: kind, attempt, close code and reason, and the cause (a refused handshake is a
     * `TetherException.HandshakeFailed` with its status). A snapshot: [addEventListener] sees every transition.
     */
    public fun status(): ConnectionStatus =
        if (started) ConnectionStatuses.of(socket.state.value) else ConnectionStatuses.notStarted()

    @Volatile
    private var started = false

    /**
     * Delivers every event of the socket and its channels (opened, closed with code and reason, connect failures,
     * reconnects scheduled, errors, joins, rejoins, errored and left channels) to [listener], in order, never
     * conflated, on the callback executor. A listener that falls more than 1 024 events behind misses the newest
     * and is told how many with an EVENTS_DROPPED event. Close the result to stop. Add it before [connect] to see
     * the first open.
     */
    public fun addEventListener(listener: PhoenixEventListener): AutoCloseable {
        val job = scope.launch(CoroutineName("tether-java-phoenix-events"), start = kotlinx.coroutines.CoroutineStart.UNDISPATCHED) {
            socket.events.collect { e -> callListener("onEvent") { listener.onEvent(PhoenixEventInfos.of(e)) } }
        }
        return AutoCloseable { job.cancel() }
    }

    /** A new channel for [topic] with no join params. */
    public fun channel(topic: String): Channel = channel(topic) { "{}" }

    /** A new channel for [topic]; [paramsJson] is evaluated for every join and rejoin. */
    public fun channel(topic: String, paramsJson: Supplier<String>): Channel =
        Channel(socket.channel(topic) { Json.parseToJsonElement(paramsJson.get()) as JsonObject })

    /** Closes the socket and blocks until it has ended. */
    override fun close() {
        scope.future { socket.close(1000, "") }.join()
        scope.cancel()
    }

    /** One channel, for Java. Thread-safe. */
    public inner class Channel internal constructor(
        private val channel: PhoenixChannel,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) {
        /** The topic. */
        public fun topic(): String = channel.topic

        /** The channel's state. */
        public fun state(): ChannelState = channel.state.value

        /** Joins (once per channel); completes with the first join's reply. The channel then keeps rejoining. */
        public fun join(): CompletableFuture<PhoenixReply> =
            scope.future(start = CoroutineStart.UNDISPATCHED) { PhoenixReplies.of(channel.join()) } // pushes may follow at once

        /** Joins with a [timeout] for this and every rejoin. */
        public fun join(timeout: Duration): CompletableFuture<PhoenixReply> =
            scope.future(start = CoroutineStart.UNDISPATCHED) { PhoenixReplies.of(channel.join(timeout.toKotlinDuration())) }

        /** Leaves; completes with the reply (or TIMEOUT). */
        public fun leave(): CompletableFuture<PhoenixReply> = scope.future { PhoenixReplies.of(channel.leave()) }

        /**
         * Pushes [event] with a JSON payload and returns at once; completes with the reply. Pushes that find the
         * outgoing buffer full wait in line (at most 65 536 per socket, then FAILED at once). Cancelling the future
         * stops waiting only.
         */
        public fun push(event: String, payloadJson: String): CompletableFuture<PhoenixReply> =
            push(event, Payload.Json(Json.parseToJsonElement(payloadJson)), null)

        /** Pushes with a [timeout]. */
        public fun push(event: String, payloadJson: String, timeout: Duration): CompletableFuture<PhoenixReply> =
            push(event, Payload.Json(Json.parseToJsonElement(payloadJson)), timeout)

        /** Pushes binary data; completes with the reply. */
        public fun pushBinary(event: String, bytes: ByteArray): CompletableFuture<PhoenixReply> = push(event, Payload.Binary(bytes), null)

        private fun push(event: String, payload: Payload, timeout: Duration?): CompletableFuture<PhoenixReply> {
            val p = if (timeout == null) channel.enqueue(event, payload) else channel.enqueue(event, payload, timeout.toKotlinDuration())
            // completed from the push itself, not from a coroutine of this client's scope: close() cancels that scope,
            // and every push (the Timeout the socket's end gives included) must reach its future
            val future = CompletableFuture<PhoenixReply>()
            p.onReply { reply -> COMPLETER.execute { future.complete(PhoenixReplies.of(reply)) } }
            return future
        }

        /** Completes with the next message with [event] (Slipstream's await_message); fails after [timeout]. */
        public fun awaitMessage(event: String, timeout: Duration): CompletableFuture<PhoenixMessage> =
            scope.future { PhoenixMessages.of(channel.awaitMessage(event, timeout.toKotlinDuration())) }

        /** Completes with the next message with [event] that matches [predicate]; fails after [timeout]. */
        public fun awaitMessage(
            event: String,
            predicate: java.util.function.Predicate<PhoenixMessage>,
            timeout: Duration,
        ): CompletableFuture<PhoenixMessage> = scope.future {
            PhoenixMessages.of(channel.awaitMessage(event, timeout.toKotlinDuration()) { predicate.test(PhoenixMessages.of(it)) })
        }

        /**
         * Delivers every message to [listener], in order, on the callback executor; close the result to stop.
         * Subscribed when this returns: every message that arrives afterwards reaches the listener.
         */
        public fun addMessageListener(listener: MessageListener): AutoCloseable {
            val job = scope.launch(CoroutineName("tether-java-phoenix-messages"), start = kotlinx.coroutines.CoroutineStart.UNDISPATCHED) {
                channel.messages.collect { m -> callListener("onMessage") { listener.onMessage(PhoenixMessages.of(m)) } }
            }
            return AutoCloseable { job.cancel() }
        }

        /** The presences now: key → metas as JSON text. */
        public fun presence(): Map<String, List<String>> = channel.presence.presences.value.mapValues { (_, v) -> v.map { it.toString() } }

        /** Reports presence changes to [listener] on the callback executor (replaces an earlier listener). */
        public fun setPresenceListener(listener: PresenceListener) {
            channel.presence.onJoin { key, _, joined -> callbacks.post { listener.onJoin(key, joined.map { it.toString() }) } }
            channel.presence.onLeave { key, _, left -> callbacks.post { listener.onLeave(key, left.map { it.toString() }) } }
            channel.presence.onSync { val now = presence(); callbacks.post { listener.onSync(now) } }
        }

        override fun toString(): String = "PhoenixClient.Channel(${channel.topic}, ${channel.state.value})"
    }

    public companion object {
        /** A builder for a socket at [endpoint], e.g. `ws://127.0.0.1:4000/socket`. */
        @JvmStatic
        public fun builder(endpoint: String): Builder = Builder(endpoint)
    }

    /** Sets the socket's options; setters validate at once, naming the option. Not thread-safe. */
    public class Builder internal constructor(private val endpoint: String, kotlinOnly: KotlinOnly = KotlinOnly()) {
        private var params: suspend () -> Map<String, String> = { emptyMap() }
        private var heartbeatInterval: Duration? = null
        private var heartbeatTimeout: Duration? = null
        private var pushTimeout: Duration? = null
        private var reconnectAfter: IntFunction<Duration>? = null
        private var rejoinAfter: IntFunction<Duration>? = null
        private val headers = LinkedHashMap<String, String>()
        private var logInfo = true
        private var logErrors = true
        private var executor: Executor = Dispatchers.Default.asExecutor()
        private var onError: java.util.function.Consumer<dev.tether.TetherException>? = null
        private var onDecodeError: java.util.function.Consumer<dev.tether.TetherException>? = null
        private var messageBuffer: Pair<Int, dev.tether.OverflowPolicy>? = null
        private var maxQueuedPushes: Int? = null
        private var outgoingBuffer: Pair<Int, dev.tether.OverflowPolicy>? = null
        private var incomingBuffer: Pair<Int, dev.tether.OverflowPolicy>? = null

        /**
         * Called with every non-fatal error (a callback that threw, a frame that is not a Phoenix message, a message a
         * channel dropped because its buffer was full). Runs on Tether's threads: keep it short.
         */
        public fun onError(listener: java.util.function.Consumer<dev.tether.TetherException>): Builder = apply { onError = listener }

        /** Called with every frame from the server that is not a Phoenix message (the socket carries on). */
        public fun onDecodeError(listener: java.util.function.Consumer<dev.tether.TetherException>): Builder = apply { onDecodeError = listener }

        /** Each channel's buffer for message listeners (default 1 024, DROP_OLDEST; DROP_NEWEST also allowed). */
        public fun messageBuffer(capacity: Int, overflow: dev.tether.OverflowPolicy): Builder =
            apply { messageBuffer = capacity to overflow }.also { phoenixSocket(endpoint) { messageBuffer(capacity, overflow) } }

        /** Pushes a channel holds while not joined (default 10 000); past that a push fails at once (FAILED). */
        public fun maxQueuedPushes(count: Int): Builder =
            apply { maxQueuedPushes = count }.also { phoenixSocket(endpoint) { maxQueuedPushes = count } }

        /** The connection's outgoing buffer (default 64, SUSPEND: pushes past it wait in line, at most 65 536). */
        public fun outgoingBuffer(capacity: Int, overflow: dev.tether.OverflowPolicy): Builder =
            apply { outgoingBuffer = capacity to overflow }.also { phoenixSocket(endpoint) { tether { outgoingBuffer(capacity, overflow) } } }

        /** The connection's incoming buffer (default 64, SUSPEND). */
        public fun incomingBuffer(capacity: Int, overflow: dev.tether.OverflowPolicy): Builder =
            apply { incomingBuffer = capacity to overflow }.also { phoenixSocket(endpoint) { tether { incomingBuffer(capacity, overflow) } } }

        /** Connect params, evaluated before every connect. */
        public fun params(supplier: Supplier<Map<String, String>>): Builder = apply { params = { supplier.get() } }

        /** Connect params, evaluated asynchronously before every connect (e.g. while a token refreshes). */
        public fun paramsAsync(supplier: Supplier<CompletionStage<Map<String, String>>>): Builder =
            apply { params = { supplier.get().await() } }

        /** Heartbeat interval (default 30 s; zero disables). */
        public fun heartbeatInterval(interval: Duration): Builder = apply { heartbeatInterval = interval }

        /** Heartbeat reply timeout (default: the interval). */
        public fun heartbeatTimeout(timeout: Duration): Builder = apply { heartbeatTimeout = timeout }

        /** Default push, join and leave timeout (default 10 s). */
        public fun pushTimeout(timeout: Duration): Builder = apply { pushTimeout = timeout }

        /** Socket reconnect schedule: attempt (1-based) → delay (default phoenix.js's). */
        public fun reconnectAfter(schedule: IntFunction<Duration>): Builder = apply { reconnectAfter = schedule }

        /** Channel rejoin schedule: attempt (1-based) → delay (default phoenix.js's). */
        public fun rejoinAfter(schedule: IntFunction<Duration>): Builder = apply { rejoinAfter = schedule }

        /** A request header for the WebSocket upgrade. */
        public fun header(name: String, value: String): Builder = apply { headers[name] = value }

        /** Log lifecycle events at INFO (default true). */
        public fun logInfo(enabled: Boolean): Builder = apply { logInfo = enabled }

        /** Log errors at WARN (default true). */
        public fun logErrors(enabled: Boolean): Builder = apply { logErrors = enabled }

        /**
         * The executor listeners run on (default: the shared pool Tether's coroutines run on, `Dispatchers.Default`;
         * give listeners that block an executor of their own), one at a time, in order.
         */
        public fun callbackExecutor(executor: Executor): Builder = apply { this.executor = executor }

        /** The client (not yet connected). @throws IllegalArgumentException for an invalid option. */
        public fun build(): PhoenixClient {
            val p = params
            val hbInterval = heartbeatInterval
            val hbTimeout = heartbeatTimeout
            val timeout = pushTimeout
            val reconnectSchedule = reconnectAfter
            val rejoinSchedule = rejoinAfter
            val socket = phoenixSocket(endpoint) {
                params(p)
                hbInterval?.let { heartbeatInterval = it.toKotlinDuration() }
                hbTimeout?.let { heartbeatTimeout = it.toKotlinDuration() }
                timeout?.let { pushTimeout = it.toKotlinDuration() }
                reconnectSchedule?.let { f -> reconnectAfter { f.apply(it).toKotlinDuration() } }
                rejoinSchedule?.let { f -> rejoinAfter { f.apply(it).toKotlinDuration() } }
                val hs = headers.toMap()
                val li = logInfo
                val le = logErrors
                val ob = outgoingBuffer
                val ib = incomingBuffer
                tether {
                    headers(hs)
                    logInfo = li
                    logErrors = le
                    ob?.let { outgoingBuffer(it.first, it.second) }
                    ib?.let { incomingBuffer(it.first, it.second) }
                }
                messageBuffer?.let { messageBuffer(it.first, it.second) }
                this@Builder.maxQueuedPushes?.let { maxQueuedPushes = it } // the outer builder's: the inner name is the socket builder's
                onError?.let { c -> onError { c.accept(it) } }
                onDecodeError?.let { c -> onDecodeError { c.accept(it as? dev.tether.TetherException ?: dev.tether.TetherException.DecodeFailed(it.toString(), it)) } }
            }
            return PhoenixClient(socket, executor, onError)
        }
    }
}

/**
 * Where the facade completes push futures: Tether's shared pool, so that a future's dependent stages run neither on
 * the socket reader nor on the socket's serial dispatcher.
 */
private val COMPLETER: Executor = Dispatchers.Default.asExecutor()
