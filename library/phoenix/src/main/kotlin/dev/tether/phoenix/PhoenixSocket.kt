package dev.tether.phoenix

import dev.tether.Connection
import dev.tether.ConnectionState
import dev.tether.Decision
import dev.tether.Frame
import dev.tether.OfflinePolicy
import dev.tether.TetherException
import dev.tether.phoenix.internal.Inbound
import dev.tether.phoenix.internal.KotlinOnly
import dev.tether.phoenix.internal.Serializer
import dev.tether.webSocketClient
import java.net.URLEncoder
import java.util.concurrent.atomic.AtomicLong
import kotlin.time.Duration
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.asContextElement
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.job
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.json.JsonObject
import org.slf4j.LoggerFactory

/**
 * A Phoenix Channels socket (V2 wire format) on one supervised Tether [Connection]: it reconnects after any close it
 * did not start itself (1000 included) on the Phoenix schedule, sends heartbeats and reconnects when one goes
 * unanswered, evaluates its params on every connect, and rejoins its channels after every reconnect.
 *
 * ## Threading
 * All socket and channel state lives on one serial dispatcher (`Dispatchers.Default.limitedParallelism(1)`), so
 * calls from any thread are safe and callbacks (`Push.onReply`, presence callbacks) run there, never on the socket
 * reader. Keep them short. A callback that throws is reported to `onError` and [events]; nothing else is harmed.
 * A reply to an ordinary push completes it on the socket reader when nothing received before it is still waiting to
 * be handled (so it never overtakes earlier messages): its waiter resumes on its own dispatcher, even while a slow
 * callback holds the serial one.
 *
 * ## Buffering
 * Pushes go out in order through the connection's outgoing buffer (`tether { outgoingBuffer(…) }`, 64 frames by
 * default, SUSPEND). With SUSPEND, while as many [PhoenixChannel.push]es as it holds wait to be written, the next one
 * suspends until one is (a FAIL or DROP policy applies as configured instead);
 * [PhoenixChannel.enqueue], which cannot suspend, lets pushes wait in line behind a full buffer instead (at most
 * 65 536; past that a push fails at once with [Reply.Failed]). A channel holds pushes made before it is joined (at
 * most `maxQueuedPushes`). Messages reach each channel's `messages` collectors through the channel's own buffer
 * (`messageBuffer`), so a slow collector of one channel never stalls another, replies or the heartbeat.
 */
public class PhoenixSocket internal constructor(
    /** The configuration this socket was built with. */
    public val config: PhoenixSocketConfig,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) : AutoCloseable {
    private val log = LoggerFactory.getLogger("dev.tether.phoenix.PhoenixSocket")
    private val refs = AtomicLong()

    @OptIn(ExperimentalCoroutinesApi::class)
    @get:JvmSynthetic
    internal val serial = Dispatchers.Default.limitedParallelism(1)

    /** Set while the socket's own work (or the connection's) runs: a [close] from there must not wait for itself. */
    private val onSerialThread = ThreadLocal<Boolean>()

    private lateinit var scopeField: CoroutineScope // a lateinit's field has its property's visibility: kept private

    /** The socket's scope (on its serial dispatcher), once started. */
    @get:JvmSynthetic
    internal val scope: CoroutineScope get() = scopeField
    private lateinit var conn: Connection
    private var ownsScope = false
    /** Changed on [serial] only; read there and by the socket reader's [fastReply] (copy on write: few changes). */
    private val channels = java.util.concurrent.CopyOnWriteArrayList<PhoenixChannel>()

    /** Messages [fastReply] let through to the router that the router has not handled yet. */
    private val routing = java.util.concurrent.atomic.AtomicInteger()
    private var heartbeat: Job? = null
    private var pendingHeartbeat: Pair<String, CompletableDeferred<Unit>>? = null
    private val reconnectTries = java.util.concurrent.atomic.AtomicInteger() // since the last open

    @Volatile
    private var connected = false

    private val _events = MutableSharedFlow<PhoenixEvent>(extraBufferCapacity = EVENT_BUFFER)
    private var eventsDropped = 0L // guarded by _events

    /** The underlying Tether connection (after connect). */
    public val connection: Connection get() = conn

    /** The state of the underlying connection (a snapshot: use [events] to see every transition). */
    public val state: StateFlow<ConnectionState> get() = conn.state

    /** True while the socket is connected. */
    public val isConnected: Boolean get() = connected

    /**
     * Everything that happens to the socket and its channels, in order, never conflated (see [PhoenixEvent]): a
     * hot flow, so a collector sees what happens while it collects. Bounded: a collector more than [EVENT_BUFFER]
     * events behind misses the newest ones and is told how many with [PhoenixEvent.EventsDropped].
     */
    public val events: SharedFlow<PhoenixEvent> get() = _events

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
        check(!::scopeField.isInitialized) { "the socket is already connected; create a new one" }
        scopeField = CoroutineScope(base.coroutineContext + serial + CoroutineName("tether-phoenix") + onSerialThread.asContextElement(true))
        val cfg = config
        val client = webSocketClient(cfg.endpoint + "/websocket") {
            pingInterval = Duration.ZERO // the Phoenix heartbeat is the keepalive (the user's tether { } may add pings)
            cfg.tether(this)
            @OptIn(dev.tether.engine.TetherEngineApi::class)
            inboundTap(::fastReply)
            offlinePolicy = OfflinePolicy.REJECT // channels hold their own pushes until joined
            reconnect { delays(cfg.reconnectAfter) } // for reconnect() (a missed heartbeat); hooks decide the others
            connectWith { ctx -> ctx.defaults.copy(url = urlWith(ctx.defaults.url, cfg.params())) }
            // Opens and closes come from the connection's hooks, which see every one (the state flow may conflate),
            // and are handled on the serial dispatcher, in order with everything the channels do.
            onConnect {
                reconnectTries.set(0)
                val a = attempt
                withContext(serial) { onOpen(a) }
            }
            onDisconnect { d ->
                withContext(serial) {
                    emit(PhoenixEvent.Closed(d.code, d.reason, d.byServer, d.cause))
                    onClose()
                }
                reconnectAfter()
            }
            onError { e ->
                when (e) {
                    is TetherException.HandlerFailed, is TetherException.SendFailed, is TetherException.MessageDropped,
                    is TetherException.DecodeFailed,
                    -> {
                        report(e, logged = true) // the connection has logged it
                        Decision.Ignore
                    }
                    else -> {
                        emit(PhoenixEvent.ConnectFailed(e))
                        reconnectAfter()
                    }
                }
            }
            onTerminate { closed ->
                withContext(serial + NonCancellable) {
                    if (connected) onClose()
                    emit(PhoenixEvent.Terminated(closed.code, closed.reason))
                }
            }
        }
        val outgoing = client.config.outgoingBuffer
        if (outgoing.overflow == dev.tether.OverflowPolicy.SUSPEND) room = kotlinx.coroutines.sync.Semaphore(outgoing.capacity)
        // the connection's own work runs on the shared pool, beside (not on) the socket's serial dispatcher
        conn = client.connectIn(CoroutineScope(scope.coroutineContext + Dispatchers.Default))
        scope.launch(CoroutineName("tether-phoenix-router")) { route() }
        scope.launch(CoroutineName("tether-phoenix-timeouts")) { sweeper() }
        scope.coroutineContext.job.invokeOnCompletion { endAllPushes() } // every push ends, however the socket does
    }

    /**
     * Room for [PhoenixChannel.push]: one permit per frame of the connection's outgoing buffer, each held by a push
     * until its frame is written (or has failed), so suspending pushes never leave more unwritten frames than the
     * buffer holds. Null unless the outgoing overflow policy is SUSPEND: the user's FAIL or DROP policy applies then.
     */
    @Volatile
    private var room: kotlinx.coroutines.sync.Semaphore? = null

    /** Suspends until a suspending push may go out (see [room]); true if it took a permit to [releaseRoom] later. */
    @JvmSynthetic
    internal suspend fun awaitRoom(): Boolean {
        val r = room ?: return false
        r.acquire()
        return true
    }

    /** Gives back a permit [awaitRoom] took: the push's frame is written, failed, or waits for a rejoin. */
    @JvmSynthetic
    internal fun releaseRoom() {
        room?.release()
    }

    private val sweep = kotlinx.coroutines.channels.Channel<Unit>(kotlinx.coroutines.channels.Channel.CONFLATED)

    @Volatile
    private var sweeperIdle = true

    /**
     * Times pushes out at their deadline: one sweeper per socket checks every channel's pending and held pushes every
     * [SWEEP] while there are any (and sleeps otherwise), instead of a timer per push: a timeout fires at most [SWEEP]
     * late. [wakeSweeper] wakes it for a new push.
     */
    @JvmSynthetic
    internal fun wakeSweeper() {
        if (sweeperIdle) sweep.trySend(Unit)
    }

    private suspend fun sweeper() {
        while (true) {
            sweeperIdle = true
            if (channels.none { it.hasLivePushes } && left.isEmpty()) sweep.receive()
            sweeperIdle = false
            delay(SWEEP)
            val now = System.nanoTime()
            for (c in channels) c.expire(now)
            for (c in left) c.expire(now)
            left.removeAll { !it.hasLivePushes }
        }
    }

    /**
     * Channels that left (or that the server closed) while pushes of theirs still waited for a reply: the sweeper
     * times those out at their deadline, as phoenix.js does, since no reply can reach a channel that left.
     */
    private val left = java.util.concurrent.CopyOnWriteArrayList<PhoenixChannel>()

    /** When the socket ends (closed, or its scope cancelled): every push still waiting ends (see [PhoenixChannel.endPushes]). */
    private fun endAllPushes() {
        for (c in channels) c.endPushes()
        for (c in left) c.endPushes()
        left.clear()
    }

    /** The next reconnect on the Phoenix schedule, announced as an event. */
    private fun reconnectAfter(): Decision {
        val n = reconnectTries.incrementAndGet()
        val delay = config.reconnectAfter(n)
        emit(PhoenixEvent.ReconnectScheduled(n, delay))
        return Decision.ReconnectAfter(delay)
    }

    /** Adds [e] to [events]; a collector that lags gets [PhoenixEvent.EventsDropped] first once it catches up. */
    @JvmSynthetic
    internal fun emit(e: PhoenixEvent) {
        synchronized(_events) {
            if (eventsDropped > 0) {
                if (_events.tryEmit(PhoenixEvent.EventsDropped(eventsDropped))) eventsDropped = 0 else {
                    eventsDropped++
                    return
                }
            }
            if (!_events.tryEmit(e)) eventsDropped++
        }
    }

    private val reportLock = Any()

    /** The connection's id for log lines (the same as its own lines), or `-` before [connect]. */
    private val logId: String get() = if (::conn.isInitialized) conn.id else "-"
    private val logWindows = HashMap<Class<*>, LongArray>() // per kind: [window start, left out]; under reportLock

    /** Logs [e] at WARN at most once per 10 s per kind of error (a stuck collector drops thousands of messages). */
    private fun logThrottled(e: TetherException) {
        val w = logWindows.getOrPut(e.javaClass) { LongArray(2) }
        val now = System.nanoTime()
        if (w[0] != 0L && now - w[0] < LOG_WINDOW_NANOS) {
            w[1]++
            return
        }
        val leftOut = w[1]
        w[0] = now
        w[1] = 0
        if (leftOut > 0) {
            log.warn("[{}] non-fatal error: {} (and {} more like it not logged)", logId, e.message, leftOut, e)
        } else {
            log.warn("[{}] non-fatal error: {}", logId, e.message, e)
        }
    }

    /** A non-fatal error: logged, given to `onError` (one at a time), added to [events]. Never throws. */
    @JvmSynthetic
    internal fun report(e: TetherException, logged: Boolean = false): Unit = synchronized(reportLock) {
        if (!logged) logThrottled(e)
        try {
            config.onError(e)
        } catch (again: Exception) {
            log.warn("[{}] onError threw", logId, again)
        }
        emit(PhoenixEvent.Error(e))
    }

    /** Runs a user callback; a throw is reported as `HandlerFailed(name)` and goes no further. */
    @JvmSynthetic
    internal inline fun guarded(name: String, block: () -> Unit) {
        try {
            block()
        } catch (e: kotlinx.coroutines.CancellationException) {
            throw e
        } catch (e: Exception) {
            report(TetherException.HandlerFailed(name, e))
        }
    }

    /**
     * A channel for [topic]; [params] are evaluated for every join and rejoin. Each call makes a new channel, as
     * phoenix.js does; joining it leaves any other joined or joining channel of the same topic.
     */
    public fun channel(topic: String, params: suspend () -> JsonObject = { JsonObject(emptyMap()) }): PhoenixChannel =
        PhoenixChannel(this, topic, params)

    /**
     * Closes the socket with [code] and ends all its work; returns once it has ended. Idempotent. From a coroutine,
     * call this one (`close(1000)`): `close()` without arguments is the blocking [java.lang.AutoCloseable.close].
     */
    public suspend fun close(code: Int, reason: String = "") {
        if (!::scopeField.isInitialized) return
        if (onSerialThread.get() == true) { // from a callback of this socket: ask, do not wait for ourselves
            closeFromInside(code, reason)
            return
        }
        conn.close(code, reason)
        scope.coroutineContext.job.cancelAndJoin()
    }

    /**
     * Closes the socket (1000) and blocks until it has ended. Called from one of the socket's callbacks, it asks for
     * the close and returns at once (waiting there would wait for itself).
     */
    override fun close() {
        if (!::scopeField.isInitialized) return
        if (onSerialThread.get() == true) {
            closeFromInside(1000, "")
            return
        }
        runBlocking { close(1000, "") }
    }

    /** Asks for the close without waiting, and ends the socket's own work once the connection has ended. */
    private fun closeFromInside(code: Int, reason: String) {
        conn.enqueue(Frame.Close(code, reason))
        scope.launch(CoroutineName("tether-phoenix-close")) {
            conn.awaitClosed()
            scope.coroutineContext.job.cancel()
        }
    }

    /** Fails clearly when a channel is used before [connect] / [connectIn]. */
    @JvmSynthetic
    internal fun requireStarted() {
        check(::scopeField.isInitialized) { "connect() the socket before joining or pushing to its channels" }
    }

    @JvmSynthetic
    internal fun makeRef(): String = refs.incrementAndGet().toString()

    @JvmSynthetic
    internal fun register(channel: PhoenixChannel) {
        channels.removeAll { it === channel }
        channels.add(channel)
    }

    @JvmSynthetic
    internal fun unregister(channel: PhoenixChannel) {
        channels.removeAll { it === channel }
        if (channel.hasLivePushes && left.none { it === channel }) {
            left.add(channel)
            wakeSweeper()
        }
    }

    /**
     * The reply fast path, on the socket reader (the connection's `inboundTap`): a reply to an ordinary push completes
     * it here, without a hop through the router, when nothing the router has yet to handle came before it (so
     * order is kept). The push's waiter resumes on its own dispatcher and `onReply` callbacks still run on the
     * serial dispatcher: no user code runs here. Everything else (joins, leaves, heartbeats, broadcasts, large or
     * undecodable messages) goes to the router.
     */
    private fun fastReply(frame: Frame): Boolean {
        if (routing.get() == 0 && frame is Frame.Text && frame.text.length <= FAST_REPLY_MAX && frame.text.contains(REPLY_MARK)) {
            val inbound = try {
                Serializer.decodeText(frame.text, config.json)
            } catch (e: Exception) {
                null // the router decodes it again and reports it
            }
            if (inbound != null && inbound.message.topic != "phoenix") {
                for (c in channels) if (c.topic == inbound.message.topic && c.completePlainReply(inbound)) return true
            }
        }
        routing.incrementAndGet()
        return false
    }

    /** phoenix.js `leaveOpenTopic`: a second join of a topic leaves the first channel. */
    @JvmSynthetic
    internal suspend fun leaveOpenTopic(topic: String, except: PhoenixChannel) {
        channels.filter { it !== except && it.topic == topic && (it.isJoined || it.isJoining) }.forEach {
            log.debug("[{}] leaving duplicate topic {}", logId, topic)
            it.leaveInternal()
        }
    }

    /**
     * Queues [m] for the socket, in order, without waiting. Null if the socket is not connected (nothing queued);
     * else a deferred that completes once the frame is written or fails with the reason it could not be.
     */
    @JvmSynthetic
    internal fun send(m: Message): Deferred<Unit>? {
        if (!connected) return null
        val frame = when (m.payload) {
            is Payload.Json -> Frame.Text(Serializer.encodeText(m, config.json))
            is Payload.Binary -> Frame.Binary(Serializer.encodeBinary(m))
        }
        return conn.enqueue(frame)
    }

    private suspend fun route() {
        for (frame in conn.incoming) {
            try {
                routeOne(frame)
            } finally {
                routing.decrementAndGet()
            }
        }
    }

    private suspend fun routeOne(frame: Frame) {
        val inbound = try {
            when (frame) {
                is Frame.Text -> Serializer.decodeText(frame.text, config.json)
                is Frame.Binary -> Serializer.decodeBinary(frame.toByteArray())
                else -> return
            }
        } catch (e: Exception) {
            val error = TetherException.DecodeFailed("Phoenix V2 message: ${e.message}", e)
            guarded("onDecodeError") { config.onDecodeError(error) } // a throw is reported as HandlerFailed
            report(error)
            return
        }
        dispatch(inbound)
    }

    private suspend fun dispatch(inbound: Inbound) {
        val m = inbound.message
        if (m.topic == "phoenix") {
            val hb = pendingHeartbeat
            if (m.event == Events.REPLY && hb != null && m.ref == hb.first) hb.second.complete(Unit)
            return
        }
        for (c in channels) if (c.topic == m.topic) c.handle(inbound)
    }

    private suspend fun onOpen(attempt: Int) {
        if (connected) onClose() // the previous connection ended without a disconnect hook (it cannot today; be safe)
        connected = true
        emit(PhoenixEvent.Opened(attempt))
        heartbeat?.cancel()
        pendingHeartbeat = null
        if (config.heartbeatInterval.isPositive()) heartbeat = scope.launch(CoroutineName("tether-phoenix-heartbeat")) { beat() }
        channels.forEach { it.onSocketOpen() }
    }

    private fun onClose() {
        connected = false
        heartbeat?.cancel()
        heartbeat = null
        pendingHeartbeat = null
        channels.forEach { it.onSocketClose() }
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
                log.warn("[{}] heartbeat timeout: reconnecting", logId)
                pendingHeartbeat = null
                // reconnect() drops the link without asking onDisconnect: this socket asked, so it closes its side here
                emit(PhoenixEvent.Closed(1000, "heartbeat timeout", byServer = false, cause = null))
                onClose()
                val n = reconnectTries.incrementAndGet()
                emit(PhoenixEvent.ReconnectScheduled(n, config.reconnectAfter(n)))
                conn.reconnect()
                return
            }
            pendingHeartbeat = null
        }
    }

    @JvmSynthetic
    internal suspend fun <T> onSerial(block: suspend () -> T): T = withContext(serial) { block() }

    private fun urlWith(base: String, params: Map<String, String>): String {
        val q = (params + ("vsn" to "2.0.0")).entries.joinToString("&") { (k, v) ->
            URLEncoder.encode(k, "UTF-8") + "=" + URLEncoder.encode(v, "UTF-8")
        }
        return "$base?$q"
    }

    override fun toString(): String = "PhoenixSocket(${config.endpoint}, connected=$connected)"

    public companion object {
        /** How often the socket checks push deadlines while pushes wait: a timeout fires at most this late. */
        @get:JvmSynthetic
        internal val SWEEP: Duration = kotlin.time.Duration.parse("20ms")

        private const val LOG_WINDOW_NANOS = 10_000_000_000L

        /** The largest reply [fastReply] decodes on the socket reader; larger ones go through the router. */
        private const val FAST_REPLY_MAX = 16 * 1024

        /** What a V2 text reply holds between its topic and its payload. */
        private const val REPLY_MARK = ",\"phx_reply\","

        /** Events each collector of [events] may fall behind before it misses some (see [PhoenixEvent]). */
        public const val EVENT_BUFFER: Int = 1024
    }
}
