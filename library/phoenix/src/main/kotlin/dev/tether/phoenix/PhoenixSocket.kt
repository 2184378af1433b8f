package dev.tether.phoenix

import dev.tether.Connection
import dev.tether.ConnectionState
import dev.tether.Decision
import dev.tether.Frame
import dev.tether.OfflinePolicy
import dev.tether.TetherException
import dev.tether.phoenix.internal.Inbound
import dev.tether.phoenix.internal.Serializer
import dev.tether.webSocketClient
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.job
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.json.JsonObject
import org.slf4j.LoggerFactory
import java.net.URLEncoder
import java.util.concurrent.atomic.AtomicLong
import kotlin.time.Duration

/**
 * A Phoenix Channels socket (V2 wire format) on one supervised Tether [Connection]: it reconnects after any close it
 * did not start itself (1000 included) on the Phoenix schedule, sends heartbeats and reconnects when one goes
 * unanswered, evaluates its params on every connect, and rejoins its channels after every reconnect.
 *
 * ## Threading
 * All socket and channel state lives on one serial dispatcher (`Dispatchers.Default.limitedParallelism(1)`), so
 * calls from any thread are safe and callbacks (`Push.onReply`, presence callbacks) run there, never on the socket
 * reader. Keep them short.
 */
public class PhoenixSocket internal constructor(
    /** The configuration this socket was built with. */
    public val config: PhoenixSocketConfig,
) : AutoCloseable {
    private val log = LoggerFactory.getLogger("dev.tether.phoenix.PhoenixSocket")
    private val refs = AtomicLong()

    @OptIn(ExperimentalCoroutinesApi::class)
    internal val serial = Dispatchers.Default.limitedParallelism(1)

    internal lateinit var scope: CoroutineScope
    private lateinit var conn: Connection
    private var ownsScope = false
    private val channels = ArrayList<PhoenixChannel>() // touched on [serial] only
    private var heartbeat: Job? = null
    private var pendingHeartbeat: Pair<String, CompletableDeferred<Unit>>? = null

    @Volatile
    private var connected = false

    /** The underlying Tether connection (after connect). */
    public val connection: Connection get() = conn

    /** The state of the underlying connection. */
    public val state: StateFlow<ConnectionState> get() = conn.state

    /** True while the socket is connected. */
    public val isConnected: Boolean get() = connected

    /** Starts the socket on its own scope; [close] it to end it. */
    public fun connect() {
        ownsScope = true
        start(CoroutineScope(SupervisorJob()))
    }

    /** Starts the socket as a child of [parent]: cancelling it ends the socket. */
    public fun connectIn(parent: CoroutineScope) {
        start(CoroutineScope(SupervisorJob(parent.coroutineContext.job)))
    }

    private fun start(base: CoroutineScope) {
        check(!::scope.isInitialized) { "the socket is already connected; create a new one" }
        scope = CoroutineScope(base.coroutineContext + serial + CoroutineName("tether-phoenix"))
        val cfg = config
        val client = webSocketClient(cfg.endpoint + "/websocket") {
            pingInterval = Duration.ZERO // the Phoenix heartbeat is the keepalive
            offlinePolicy = OfflinePolicy.REJECT // channels buffer their own pushes until joined
            cfg.tether(this)
            reconnect { delays(cfg.reconnectAfter) }
            connectWith { ctx -> ctx.defaults.copy(url = urlWith(ctx.defaults.url, cfg.params())) }
            onDisconnect { Decision.Reconnect }
            onError { e ->
                when (e) {
                    is TetherException.HandlerFailed, is TetherException.SendFailed, is TetherException.MessageDropped,
                    is TetherException.DecodeFailed,
                    -> Decision.Ignore
                    else -> Decision.Reconnect
                }
            }
        }
        conn = client.connectIn(scope)
        scope.launch(CoroutineName("tether-phoenix-router")) { route() }
        scope.launch(CoroutineName("tether-phoenix-state")) {
            conn.state.collect { s ->
                if (s is ConnectionState.Connected && !connected) onOpen()
                if (s !is ConnectionState.Connected && connected) onClose()
            }
        }
    }

    /**
     * A channel for [topic]; [params] are evaluated for every join and rejoin. Each call makes a new channel, as
     * phoenix.js does; joining it leaves any other joined or joining channel of the same topic.
     */
    public fun channel(topic: String, params: suspend () -> JsonObject = { JsonObject(emptyMap()) }): PhoenixChannel =
        PhoenixChannel(this, topic, params)

    /** Closes the socket (1000) and ends all its work. Idempotent. */
    public suspend fun close(code: Int = 1000, reason: String = "") {
        if (!::scope.isInitialized) return
        conn.close(code, reason)
        scope.coroutineContext.job.cancelAndJoin()
    }

    /** Closes the socket and blocks until it has ended. */
    override fun close() {
        runBlocking { close(1000, "") }
    }

    /** Fails clearly when a channel is used before [connect] / [connectIn]. */
    internal fun requireStarted() {
        check(::scope.isInitialized) { "connect() the socket before joining or pushing to its channels" }
    }

    internal fun makeRef(): String = refs.incrementAndGet().toString()

    internal fun register(channel: PhoenixChannel) {
        channels.removeAll { it === channel }
        channels.add(channel)
    }

    internal fun unregister(channel: PhoenixChannel) {
        channels.removeAll { it === channel }
    }

    /** phoenix.js `leaveOpenTopic`: a second join of a topic leaves the first channel. */
    internal suspend fun leaveOpenTopic(topic: String, except: PhoenixChannel) {
        channels.filter { it !== except && it.topic == topic && (it.isJoined || it.isJoining) }.forEach {
            log.debug("leaving duplicate topic {}", topic)
            it.leaveInternal()
        }
    }

    /** Queues [m] for the socket; false if it cannot be sent now. */
    internal fun send(m: Message): Boolean {
        if (!connected) return false
        val frame = when (m.payload) {
            is Payload.Json -> Frame.Text(Serializer.encodeText(m, config.json))
            is Payload.Binary -> Frame.Binary(Serializer.encodeBinary(m))
        }
        return conn.outgoing.trySend(frame).isSuccess
    }

    private suspend fun route() {
        for (frame in conn.incoming) {
            val inbound = try {
                when (frame) {
                    is Frame.Text -> Serializer.decodeText(frame.text, config.json)
                    is Frame.Binary -> Serializer.decodeBinary(frame.toByteArray())
                    else -> continue
                }
            } catch (e: Exception) {
                log.warn("dropping a frame that is not a Phoenix V2 message: {}", e.message)
                runCatching { config.onDecodeError(TetherException.DecodeFailed("Phoenix V2 message: ${e.message}", e)) }
                continue
            }
            dispatch(inbound)
        }
    }

    private suspend fun dispatch(inbound: Inbound) {
        val m = inbound.message
        if (m.topic == "phoenix") {
            val hb = pendingHeartbeat
            if (m.event == Events.REPLY && hb != null && m.ref == hb.first) hb.second.complete(Unit)
            return
        }
        channels.toList().forEach { if (it.topic == m.topic) it.handle(inbound) }
    }

    private suspend fun onOpen() {
        connected = true
        heartbeat?.cancel()
        pendingHeartbeat = null
        if (config.heartbeatInterval.isPositive()) heartbeat = scope.launch(CoroutineName("tether-phoenix-heartbeat")) { beat() }
        channels.toList().forEach { it.onSocketOpen() }
    }

    private fun onClose() {
        connected = false
        heartbeat?.cancel()
        heartbeat = null
        pendingHeartbeat = null
        channels.toList().forEach { it.onSocketClose() }
    }

    /** One heartbeat loop per connection: its state dies with the connection (no stale refs). */
    private suspend fun beat() {
        while (true) {
            delay(config.heartbeatInterval)
            val ref = makeRef()
            val answered = CompletableDeferred<Unit>()
            pendingHeartbeat = ref to answered
            send(Message(null, ref, "phoenix", Events.HEARTBEAT, Payload.EMPTY))
            if (withTimeoutOrNull(config.heartbeatTimeout) { answered.await() } == null) {
                log.warn("heartbeat timeout: reconnecting")
                pendingHeartbeat = null
                conn.reconnect()
                return
            }
            pendingHeartbeat = null
        }
    }

    internal suspend fun <T> onSerial(block: suspend () -> T): T = withContext(serial) { block() }

    private fun urlWith(base: String, params: Map<String, String>): String {
        val q = (params + ("vsn" to "2.0.0")).entries.joinToString("&") { (k, v) ->
            URLEncoder.encode(k, Charsets.UTF_8) + "=" + URLEncoder.encode(v, Charsets.UTF_8)
        }
        return "$base?$q"
    }

    override fun toString(): String = "PhoenixSocket(${config.endpoint}, connected=$connected)"
}
