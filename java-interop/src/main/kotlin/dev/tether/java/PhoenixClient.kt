package dev.tether.java

import dev.tether.java.internal.CallbackRunner

import dev.tether.phoenix.ChannelState
import dev.tether.phoenix.Payload
import dev.tether.phoenix.PhoenixChannel
import dev.tether.phoenix.PhoenixSocket
import dev.tether.phoenix.phoenixSocket
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.future.await
import kotlinx.coroutines.future.future
import kotlinx.coroutines.launch
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CompletionStage
import java.util.concurrent.Executor
import java.util.concurrent.ForkJoinPool
import java.util.function.IntFunction
import java.util.function.Supplier
import kotlin.time.toKotlinDuration

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
public class PhoenixClient private constructor(private val socket: PhoenixSocket, executor: Executor) : AutoCloseable {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineName("tether-java-phoenix"))
    private val callbacks = CallbackRunner(executor)

    /** Starts connecting (and reconnecting) and returns this client. */
    public fun connect(): PhoenixClient {
        socket.connect()
        return this
    }

    /** True while the socket is connected. */
    public fun isConnected(): Boolean = socket.isConnected

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
    public inner class Channel internal constructor(private val channel: PhoenixChannel) {
        /** The topic. */
        public fun topic(): String = channel.topic

        /** The channel's state. */
        public fun state(): ChannelState = channel.state.value

        /** Joins (once per channel); completes with the first join's reply. The channel then keeps rejoining. */
        public fun join(): CompletableFuture<PhoenixReply> = scope.future { PhoenixReply.of(channel.join()) }

        /** Joins with a [timeout] for this and every rejoin. */
        public fun join(timeout: Duration): CompletableFuture<PhoenixReply> =
            scope.future { PhoenixReply.of(channel.join(timeout.toKotlinDuration())) }

        /** Leaves; completes with the reply (or TIMEOUT). */
        public fun leave(): CompletableFuture<PhoenixReply> = scope.future { PhoenixReply.of(channel.leave()) }

        /** Pushes [event] with a JSON payload; completes with the reply. Cancelling the future stops waiting only. */
        public fun push(event: String, payloadJson: String): CompletableFuture<PhoenixReply> =
            push(event, Payload.Json(Json.parseToJsonElement(payloadJson)), null)

        /** Pushes with a [timeout]. */
        public fun push(event: String, payloadJson: String, timeout: Duration): CompletableFuture<PhoenixReply> =
            push(event, Payload.Json(Json.parseToJsonElement(payloadJson)), timeout)

        /** Pushes binary data; completes with the reply. */
        public fun pushBinary(event: String, bytes: ByteArray): CompletableFuture<PhoenixReply> = push(event, Payload.Binary(bytes), null)

        private fun push(event: String, payload: Payload, timeout: Duration?): CompletableFuture<PhoenixReply> {
            val p = if (timeout == null) channel.push(event, payload) else channel.push(event, payload, timeout.toKotlinDuration())
            return scope.future { PhoenixReply.of(p.await()) }
        }

        /** Completes with the next message with [event] (Slipstream's await_message); fails after [timeout]. */
        public fun awaitMessage(event: String, timeout: Duration): CompletableFuture<PhoenixMessage> =
            scope.future { PhoenixMessage.of(channel.awaitMessage(event, timeout.toKotlinDuration())) }

        /** Completes with the next message with [event] that matches [predicate]; fails after [timeout]. */
        public fun awaitMessage(
            event: String,
            predicate: java.util.function.Predicate<PhoenixMessage>,
            timeout: Duration,
        ): CompletableFuture<PhoenixMessage> = scope.future {
            PhoenixMessage.of(channel.awaitMessage(event, timeout.toKotlinDuration()) { predicate.test(PhoenixMessage.of(it)) })
        }

        /** Delivers every message to [listener], in order, on the callback executor; close the result to stop. */
        public fun addMessageListener(listener: MessageListener): AutoCloseable {
            val job = scope.launch(CoroutineName("tether-java-phoenix-messages")) {
                channel.messages.collect { m -> callbacks.call { runCatching { listener.onMessage(PhoenixMessage.of(m)) } } }
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
    public class Builder internal constructor(private val endpoint: String) {
        private var params: suspend () -> Map<String, String> = { emptyMap() }
        private var heartbeatInterval: Duration? = null
        private var heartbeatTimeout: Duration? = null
        private var pushTimeout: Duration? = null
        private var reconnectAfter: IntFunction<Duration>? = null
        private var rejoinAfter: IntFunction<Duration>? = null
        private val headers = LinkedHashMap<String, String>()
        private var logInfo = true
        private var logErrors = true
        private var executor: Executor = ForkJoinPool.commonPool()

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

        /** The executor listeners run on (default [ForkJoinPool.commonPool]), one at a time, in order. */
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
                tether {
                    headers(hs)
                    logInfo = li
                    logErrors = le
                }
            }
            return PhoenixClient(socket, executor)
        }
    }
}
