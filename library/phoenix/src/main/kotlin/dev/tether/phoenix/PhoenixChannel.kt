package dev.tether.phoenix

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.json.JsonObject
import dev.tether.phoenix.internal.Inbound
import kotlin.time.Duration

/**
 * A Phoenix channel: a state machine (closed, joining, joined, errored, leaving) keyed by `join_ref`.
 *
 * It rejoins by itself after a crash (`phx_error`), a failed or timed-out join (on the rejoin schedule, one timer
 * per channel) and after every socket reconnect; it drops messages that carry an outdated `join_ref`. Pushes made
 * while not joined wait for the join, their timeout already running. [join] may be called once per channel, as in
 * phoenix.js; joining leaves any other joined channel of the same topic.
 *
 * Thread-safe: state lives on the socket's serial dispatcher.
 */
public class PhoenixChannel internal constructor(
    internal val socket: PhoenixSocket,
    /** The topic, e.g. `room:lobby`. */
    public val topic: String,
    private val params: suspend () -> JsonObject,
) {
    private val _state = MutableStateFlow(ChannelState.CLOSED)
    private val firstJoin = CompletableDeferred<Reply>()
    private val pending = HashMap<String, Push>()
    private val buffer = ArrayDeque<Push>()
    private val unmatched = ArrayDeque<Message>()
    private val waiters = ArrayList<Waiter>()
    private val _messages = MutableSharedFlow<Message>(extraBufferCapacity = 256)
    private var rejoinTimer: Job? = null
    private var rejoinTries = 0

    @Volatile
    private var joinCalled = false

    /** The timeout given to [join], used for every rejoin too (as phoenix.js does). */
    private var joinTimeout: Duration = socket.config.pushTimeout

    /** The current join reference (changes on every rejoin), or null before the first join. */
    @Volatile
    public var joinRef: String? = null
        private set

    /** The channel's state. */
    public val state: StateFlow<ChannelState> = _state.asStateFlow()

    /**
     * Every message for this channel from its current join (broadcasts, pushes from the server, presence events),
     * as a hot flow: collectors see what arrives while they collect. Replies go to their [Push] instead.
     */
    public val messages: SharedFlow<Message> = _messages

    /** Presence on this channel, synced from `presence_state` and `presence_diff`. */
    public val presence: Presence = Presence(this)

    internal val isJoined: Boolean get() = _state.value == ChannelState.JOINED
    internal val isJoining: Boolean get() = _state.value == ChannelState.JOINING

    /**
     * Joins and suspends until the first join's reply: [Reply.Ok] with the server's response, [Reply.Error] with
     * its reason, or [Reply.Timeout]. Whatever it returns, the channel keeps rejoining on its schedule until [leave].
     * @throws IllegalStateException if called twice on the same channel, or before the socket is connected.
     */
    public suspend fun join(timeout: Duration = socket.config.pushTimeout): Reply {
        socket.requireStarted()
        socket.onSerial {
            check(!joinCalled) { "tried to join multiple times: 'join' can only be called once per channel" }
            joinCalled = true
            joinTimeout = timeout
            socket.register(this)
            rejoin()
        }
        return withTimeoutOrNull(timeout) { firstJoin.await() } ?: Reply.Timeout
    }

    /** Suspends until the channel is joined. @throws PhoenixTimeoutException after [timeout]. */
    public suspend fun awaitJoined(timeout: Duration = socket.config.pushTimeout) {
        withTimeoutOrNull(timeout) { _state.first { it == ChannelState.JOINED } }
            ?: throw PhoenixTimeoutException("channel $topic not joined within $timeout (state ${_state.value})")
    }

    /**
     * Pushes [event] with [payload] and returns the [Push] at once; await its reply with [Push.await] or
     * [Push.onReply]. Sent now if joined, else when the join succeeds; the timeout runs from now.
     * @throws IllegalStateException before [join].
     */
    public fun push(event: String, payload: Payload = Payload.EMPTY, timeout: Duration = socket.config.pushTimeout): Push {
        check(joinCalled) { "tried to push '$event' to '$topic' before joining; call join() first" }
        val p = Push(this, event, payload, timeout) { push, _ -> push.ref?.let { pending.remove(it) } }
        p.startTimer()
        socket.scope.launch {
            if (p.isDone) return@launch
            if (socket.isConnected && isJoined) sendPush(p) else buffer.addLast(p)
        }
        return p
    }

    /** Pushes a JSON payload; see [push]. */
    public fun push(event: String, payload: JsonObject, timeout: Duration = socket.config.pushTimeout): Push =
        push(event, Payload.Json(payload), timeout)

    /** Pushes binary data; see [push]. */
    public fun push(event: String, bytes: ByteArray, timeout: Duration = socket.config.pushTimeout): Push =
        push(event, Payload.Binary(bytes), timeout)

    /** Leaves and suspends until the server confirms (or the timeout elapses); the channel ends [ChannelState.CLOSED]. */
    public suspend fun leave(timeout: Duration = socket.config.pushTimeout): Reply {
        val p = socket.onSerial { leaveInternal(timeout) }
        return p?.await() ?: Reply.Ok(Payload.EMPTY)
    }

    /**
     * The next message with [event] that matches [predicate], including one that arrived before the call and was not
     * taken by an earlier await (Slipstream's `await_message`). Each message satisfies one await at most.
     * @throws PhoenixTimeoutException after [timeout].
     */
    public suspend fun awaitMessage(
        event: String,
        timeout: Duration = socket.config.pushTimeout,
        predicate: (Message) -> Boolean = { true },
    ): Message {
        val w = socket.onSerial {
            val hit = unmatched.firstOrNull { it.event == event && predicate(it) }
            if (hit != null) {
                unmatched.remove(hit)
                return@onSerial null to hit
            }
            Waiter(event, predicate).also { waiters += it } to null
        }
        w.second?.let { return it }
        val waiter = w.first!!
        return withTimeoutOrNull(timeout) { waiter.result.await() }
            ?: socket.onSerial {
                waiters.remove(waiter)
                if (waiter.result.isCompleted) waiter.result.getCompleted() else null
            }
            ?: throw PhoenixTimeoutException("no '$event' on $topic within $timeout")
    }

    // ---- on the serial dispatcher ----

    internal suspend fun leaveInternal(timeout: Duration = socket.config.pushTimeout): Push? {
        rejoinTimer?.cancel()
        val jr = joinRef
        if (_state.value == ChannelState.CLOSED || jr == null || !socket.isConnected) {
            closed()
            return null
        }
        _state.value = ChannelState.LEAVING
        val p = Push(this, Events.LEAVE, Payload.EMPTY, timeout) { push, _ ->
            push.ref?.let { pending.remove(it) }
            closed()
        }
        p.startTimer()
        val ref = socket.makeRef()
        p.ref = ref
        pending[ref] = p
        socket.send(Message(jr, ref, topic, Events.LEAVE, Payload.EMPTY))
        return p
    }

    private fun closed() {
        _state.value = ChannelState.CLOSED
        rejoinTimer?.cancel()
        firstJoin.complete(Reply.Error(Payload.EMPTY))
        socket.unregister(this)
    }

    private suspend fun rejoin() {
        val timeout = joinTimeout
        if (!joinCalled || _state.value == ChannelState.LEAVING) return
        socket.leaveOpenTopic(topic, this)
        rejoinTimer?.cancel()
        joinRef?.let { pending.remove(it)?.abandon() }
        if (!socket.isConnected) {
            _state.value = ChannelState.ERRORED // joins when the socket opens
            return
        }
        val ref = socket.makeRef()
        joinRef = ref
        _state.value = ChannelState.JOINING
        val payload = try {
            params()
        } catch (e: kotlinx.coroutines.CancellationException) {
            throw e
        } catch (e: Exception) {
            JsonObject(emptyMap())
        }
        val p = Push(this, Events.JOIN, Payload.Json(payload), timeout) { push, reply -> joinAnswered(push, reply) }
        p.ref = ref
        p.startTimer()
        pending[ref] = p
        socket.send(Message(ref, ref, topic, Events.JOIN, Payload.Json(payload)))
    }

    private fun joinAnswered(push: Push, reply: Reply) {
        pending.remove(push.ref)
        if (push.ref != joinRef || _state.value != ChannelState.JOINING) return // an outdated join
        when (reply) {
            is Reply.Ok -> {
                _state.value = ChannelState.JOINED
                rejoinTries = 0
                firstJoin.complete(reply)
                while (buffer.isNotEmpty()) buffer.removeFirst().let { if (!it.isDone) sendPush(it) }
            }
            is Reply.Error -> {
                _state.value = ChannelState.ERRORED
                firstJoin.complete(reply)
                scheduleRejoin()
            }
            Reply.Timeout -> {
                socket.send(Message(push.ref, socket.makeRef(), topic, Events.LEAVE, Payload.EMPTY))
                _state.value = ChannelState.ERRORED
                firstJoin.complete(reply)
                scheduleRejoin()
            }
        }
    }

    private fun sendPush(p: Push) {
        val ref = socket.makeRef()
        p.ref = ref
        pending[ref] = p
        socket.send(Message(joinRef, ref, topic, p.event, p.payload))
    }

    private fun scheduleRejoin() {
        rejoinTimer?.cancel()
        if (!socket.isConnected) return // the socket's open will rejoin
        val delayFor = socket.config.rejoinAfter(++rejoinTries)
        rejoinTimer = socket.scope.launch {
            delay(delayFor)
            if (socket.isConnected && _state.value == ChannelState.ERRORED) rejoin()
        }
    }

    internal suspend fun onSocketOpen() {
        rejoinTimer?.cancel()
        rejoinTries = 0
        if (joinCalled && _state.value == ChannelState.ERRORED) rejoin()
    }

    internal fun onSocketClose() {
        rejoinTimer?.cancel()
        joinRef?.let { pending.remove(it)?.abandon() }
        if (_state.value == ChannelState.JOINED || _state.value == ChannelState.JOINING) _state.value = ChannelState.ERRORED
        if (_state.value == ChannelState.LEAVING) closed()
    }

    internal suspend fun handle(inbound: Inbound) {
        val m = inbound.message
        if (m.joinRef != null && m.joinRef != joinRef) return // from an outdated join
        when (m.event) {
            Events.REPLY -> {
                val reply = inbound.reply ?: return
                pending[m.ref]?.complete(Reply.of(reply.first, reply.second))
                return
            }
            Events.ERROR -> {
                if (_state.value == ChannelState.JOINED || _state.value == ChannelState.JOINING) {
                    joinRef?.let { pending.remove(it)?.abandon() }
                    _state.value = ChannelState.ERRORED
                    scheduleRejoin()
                }
                return
            }
            Events.CLOSE -> {
                closed()
                return
            }
            Events.PRESENCE_STATE, Events.PRESENCE_DIFF -> presence.handle(m)
        }
        deliver(m)
    }

    private suspend fun deliver(m: Message) {
        val w = waiters.firstOrNull { it.event == m.event && it.predicate(m) }
        if (w != null) {
            waiters.remove(w)
            w.result.complete(m)
        } else {
            unmatched.addLast(m)
            while (unmatched.size > UNMATCHED_LIMIT) unmatched.removeFirst()
        }
        _messages.emit(m)
    }

    private class Waiter(val event: String, val predicate: (Message) -> Boolean) {
        val result = CompletableDeferred<Message>()
    }

    override fun toString(): String = "PhoenixChannel($topic, ${_state.value}, join_ref=$joinRef)"

    private companion object {
        const val UNMATCHED_LIMIT = 256
    }
}
