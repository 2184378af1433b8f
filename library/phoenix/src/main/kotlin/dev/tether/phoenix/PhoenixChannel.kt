package dev.tether.phoenix

import dev.tether.Frame
import dev.tether.TetherException.SendFailed
import dev.tether.TetherException.SendFailure
import dev.tether.phoenix.internal.Inbound
import dev.tether.phoenix.internal.KotlinOnly
import dev.tether.phoenix.internal.PushTable
import kotlin.time.Duration
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.mapNotNull
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.json.JsonObject

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
    @get:JvmSynthetic
    internal val socket: PhoenixSocket,
    /** The topic, e.g. `room:lobby`. */
    public val topic: String,
    private val params: suspend () -> JsonObject,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    private val _state = MutableStateFlow(ChannelState.CLOSED)
    private val firstJoin = CompletableDeferred<Reply>()
    /**
     * The pushes held for the join and those on the wire: completed by the router (replies), the sweeper (timeouts),
     * a failed write, the channel's or the socket's end.
     */
    private val pushes = object : PushTable<Push>(socket.config.maxQueuedPushes) {
        override fun orderOf(p: Push) = p.seq
        override fun deadlineOf(p: Push) = p.deadline
        override fun isDone(p: Push) = p.isDone
        override fun isAbandoned(p: Push) = p.abandoned
        override fun timeOut(p: Push) = p.complete(Reply.Timeout)
        override fun refuse(p: Push, why: Refusal) = p.failed(
            when (why) {
                Refusal.SOCKET_CLOSED -> SendFailed(Frame.Text("$topic ${p.event}"), SendFailure.CLOSED, "the socket is closed")
                Refusal.CHANNEL_CLOSED -> SendFailed(Frame.Text("$topic ${p.event}"), SendFailure.CLOSED, "channel $topic is closed")
                Refusal.TOO_MANY_HELD -> SendFailed(
                    Frame.Text("$topic ${p.event}"), SendFailure.BUFFER_FULL,
                    "more than ${socket.config.maxQueuedPushes} pushes wait for channel $topic to be joined",
                )
            },
        )
    }
    // what PushTable.offer and flush are given, made once (not per push)
    private val canSendNow: () -> Boolean = { socket.isConnected && isJoined }
    private val sendHoldingPermit: (Push) -> Unit = { sendPush(it, permit = true) }
    private val sendPlain: (Push) -> Unit = { sendPush(it) }

    /** Guards [joinCalled]'s claim. */
    private val joinLock = Any()
    private val pushSeq = java.util.concurrent.atomic.AtomicLong()
    private val unmatched = ArrayDeque<Message>()
    private val waiters = ArrayList<Waiter>()
    private val _messages = MutableSharedFlow<Message>(extraBufferCapacity = 64)

    /**
     * The channel's own buffer between the socket's router and the `messages` collectors: the router never waits
     * for a collector; a full buffer drops by the configured policy and reports it.
     */
    private val delivery = Channel<Message>(
        socket.config.messageBuffer,
        if (socket.config.messageOverflow == dev.tether.OverflowPolicy.DROP_NEWEST) BufferOverflow.DROP_LATEST else BufferOverflow.DROP_OLDEST,
    ) { m ->
        socket.report(dev.tether.TetherException.MessageDropped(dev.tether.Frame.Text(m.toString()), "channel $topic's message buffer full"))
    }
    private var deliveryJob: Job? = null
    private var rejoinTimer: Job? = null
    private var rejoinTries = 0
    private var everJoined = false

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
     * as a hot flow: collectors see what arrives while they collect. Replies go to their [Push] instead. Messages
     * reach collectors through the channel's own buffer (`messageBuffer`, default 1 024, DROP_OLDEST): a collector
     * that falls further behind loses messages (each drop reported to the socket's `onError`), and never stalls other
     * channels, replies or the heartbeat.
     */
    public val messages: SharedFlow<Message> = _messages

    /** The messages with [event], decoded with [deserializer]; one that does not fit is reported and skipped. */
    public fun <T> messages(event: String, deserializer: kotlinx.serialization.KSerializer<T>): kotlinx.coroutines.flow.Flow<T> =
        _messages.mapNotNull { m ->
            if (m.event != event) return@mapNotNull null
            try {
                m.payload.decode(deserializer, socket.config.json)
            } catch (e: dev.tether.TetherException.DecodeFailed) {
                socket.report(e)
                null
            }
        }

    /** This channel's events (joining, joined, errored, left), in order, never conflated: see [PhoenixEvent]. */
    public val events: kotlinx.coroutines.flow.Flow<PhoenixEvent.ChannelEvent> =
        socket.events.filterIsInstance<PhoenixEvent.ChannelEvent>().filter { it.topic == topic }

    /** Presence on this channel, synced from `presence_state` and `presence_diff`. */
    public val presence: Presence = Presence(this)

    @get:JvmSynthetic
    internal val isJoined: Boolean get() = _state.value == ChannelState.JOINED
    @get:JvmSynthetic
    internal val isJoining: Boolean get() = _state.value == ChannelState.JOINING

    /**
     * Joins and suspends until the first join's reply: [Reply.Ok] with the server's response, [Reply.Error] with
     * its reason, or [Reply.Timeout]. Whatever it returns, the channel keeps rejoining on its schedule until [leave].
     * @throws IllegalStateException if called twice on the same channel, or before the socket is connected.
     */
    public suspend fun join(timeout: Duration = socket.config.pushTimeout): Reply {
        socket.requireStarted()
        // claimed before the first suspension, so a push right after join() (from another coroutine, or a Java
        // caller whose join runs asynchronously) is held for the join instead of refused
        check(!joinCalled) { "tried to join multiple times: 'join' can only be called once per channel" }
        synchronized(joinLock) {
            check(!joinCalled) { "tried to join multiple times: 'join' can only be called once per channel" }
            joinCalled = true
        }
        socket.onSerial {
            deliveryJob = socket.scope.launch(Dispatchers.Default + CoroutineName("tether-phoenix-$topic")) {
                for (m in delivery) _messages.emit(m)
            }
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
     * Pushes [event] with [payload] and returns the [Push] once it is queued; await its reply with [Push.await] or
     * [Push.onReply]. Sent now if joined, else when the join succeeds. The default: while the socket's outgoing buffer
     * is full of pushes not yet written (a slow network or server), this suspends until one is written, so a fast
     * producer is held back instead of filling memory. Cancelling the caller while it waits withdraws the push: it
     * is not sent. With a FAIL or DROP outgoing policy (`tether { outgoingBuffer(…) }`) it never waits: that policy
     * applies. Never lost without a word: a push that cannot be held or written completes at once with
     * [Reply.Failed] and the reason (more than `maxQueuedPushes` waiting for the join, the socket closed, the
     * channel left or closed by the server). Pushes
     * from one caller go out in order; the timeout runs from when this returns. Every push ends with exactly one
     * outcome: a push already written whose channel then leaves or is closed by the server gets [Reply.Timeout] at
     * its deadline (as phoenix.js does: no reply can come), and when the socket ends every push still waiting ends
     * at once ([Reply.Timeout] if it was sent, [Reply.Failed] if it never was).
     * From code that cannot suspend (callbacks, other threads), use [enqueue].
     * @throws IllegalStateException before [join].
     */
    public suspend fun push(event: String, payload: Payload = Payload.EMPTY, timeout: Duration = socket.config.pushTimeout): Push {
        check(joinCalled) { "tried to push '$event' to '$topic' before joining; call join() first" }
        return make(event, payload, timeout, permit = socket.awaitRoom())
    }

    /**
     * Pushes like [push] without ever suspending, for code outside coroutines (callbacks, the Java facade): returns
     * the [Push] at once. Pushes that find the outgoing buffer full wait in line behind it (at most 65 536 across the
     * socket, then they fail at once with [Reply.Failed] and BUFFER_FULL) instead of holding the caller back.
     * Otherwise as [push]: held until joined, in order, failed with the reason when it cannot be sent.
     * @throws IllegalStateException before [join].
     */
    public fun enqueue(event: String, payload: Payload = Payload.EMPTY, timeout: Duration = socket.config.pushTimeout): Push {
        check(joinCalled) { "tried to push '$event' to '$topic' before joining; call join() first" }
        return make(event, payload, timeout, permit = false)
    }

    /**
     * Makes the push and sends or holds it. [permit]: it holds one of the socket's room permits, which every path
     * gives back exactly once (when written or failed, when held for the join, when the socket is closed).
     */
    private fun make(event: String, payload: Payload, timeout: Duration, permit: Boolean): Push {
        val p = Push(this, event, payload, timeout, plain = true) { push, _ -> push.ref?.let { pushes.remove(it) } }
        p.seq = pushSeq.incrementAndGet()
        if (!socket.scope.isActive) { // the socket is closed: nothing would ever send or time it out
            if (permit) socket.releaseRoom()
            p.failed(dev.tether.TetherException.SendFailed(dev.tether.Frame.Text("$topic $event"), dev.tether.TetherException.SendFailure.CLOSED, "the socket is closed"))
            return p
        }
        // From the caller's thread, with no hop: sent now if joined (in order behind anything held), else held (held
        // pushes have their own bound, maxQueuedPushes, so the permit goes back), or refused with the reason.
        if (!pushes.offer(p, canSendNow, if (permit) sendHoldingPermit else sendPlain) && permit) socket.releaseRoom()
        socket.wakeSweeper() // after it is pending or held: the sweeper then sees it
        return p
    }

    /** Pushes [value] encoded with [serializer] as JSON; see [push]. */
    public suspend fun <T> push(
        event: String,
        value: T,
        serializer: kotlinx.serialization.KSerializer<T>,
        timeout: Duration = socket.config.pushTimeout,
    ): Push = push(event, Payload.Json(socket.config.json.encodeToJsonElement(serializer, value)), timeout)

    /** Enqueues [value] encoded with [serializer] as JSON; see [enqueue]. */
    public fun <T> enqueue(
        event: String,
        value: T,
        serializer: kotlinx.serialization.KSerializer<T>,
        timeout: Duration = socket.config.pushTimeout,
    ): Push = enqueue(event, Payload.Json(socket.config.json.encodeToJsonElement(serializer, value)), timeout)

    /** True while pushes wait for a reply or for the join (the socket's sweeper then checks their deadlines). */
    @get:JvmSynthetic
    internal val hasLivePushes: Boolean get() = pushes.isLive

    /** On the sweeper: times out every push whose deadline ([System.nanoTime]) has passed. */
    @JvmSynthetic
    internal fun expire(now: Long) = pushes.expire(now)

    /**
     * The socket has ended: every push still waiting ends now. One on the wire gets [Reply.Timeout] (the server may
     * have handled it, but no reply can come any more); one held for the join was never sent and fails with CLOSED.
     */
    @JvmSynthetic
    internal fun endPushes() = pushes.endSocket()

    /** Pushes a JSON payload; see [push]. */
    public suspend fun push(event: String, payload: JsonObject, timeout: Duration = socket.config.pushTimeout): Push =
        push(event, Payload.Json(payload), timeout)

    /** Pushes binary data; see [push]. */
    public suspend fun push(event: String, bytes: ByteArray, timeout: Duration = socket.config.pushTimeout): Push =
        push(event, Payload.Binary(bytes), timeout)

    /** Enqueues a JSON payload; see [enqueue]. */
    public fun enqueue(event: String, payload: JsonObject, timeout: Duration = socket.config.pushTimeout): Push =
        enqueue(event, Payload.Json(payload), timeout)

    /** Enqueues binary data; see [enqueue]. */
    public fun enqueue(event: String, bytes: ByteArray, timeout: Duration = socket.config.pushTimeout): Push =
        enqueue(event, Payload.Binary(bytes), timeout)

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
                waiter.message // delivered after the timeout fired, before the waiter was removed
            }
            ?: throw PhoenixTimeoutException("no '$event' on $topic within $timeout")
    }

    // ---- on the serial dispatcher ----

    @JvmSynthetic
    internal suspend fun leaveInternal(timeout: Duration = socket.config.pushTimeout): Push? {
        rejoinTimer?.cancel()
        val jr = joinRef
        if (_state.value == ChannelState.CLOSED || jr == null || !socket.isConnected) {
            closed()
            return null
        }
        _state.value = ChannelState.LEAVING
        val p = Push(this, Events.LEAVE, Payload.EMPTY, timeout) { push, _ ->
            push.ref?.let { pushes.remove(it) }
            closed()
        }
        val ref = socket.makeRef()
        p.ref = ref
        if (!pushes.register(ref, p)) return p
        p.startTimer()
        socket.send(Message(jr, ref, topic, Events.LEAVE, Payload.EMPTY))
        return p
    }

    private fun closed(byServer: Boolean = false) {
        val was = _state.value
        _state.value = ChannelState.CLOSED
        rejoinTimer?.cancel()
        firstJoin.complete(Reply.Error(Payload.EMPTY))
        socket.unregister(this)
        if (was != ChannelState.CLOSED) socket.emit(PhoenixEvent.Left(topic, byServer))
        delivery.close() // its collectors get what is buffered, then the delivery coroutine ends
        pushes.endChannel()
    }

    private suspend fun rejoin() {
        val timeout = joinTimeout
        if (!joinCalled || _state.value == ChannelState.LEAVING) return
        socket.leaveOpenTopic(topic, this)
        rejoinTimer?.cancel()
        joinRef?.let { pushes.remove(it)?.abandon() }
        if (!socket.isConnected) {
            _state.value = ChannelState.ERRORED // joins when the socket opens
            return
        }
        val ref = socket.makeRef()
        joinRef = ref
        _state.value = ChannelState.JOINING
        socket.emit(PhoenixEvent.Joining(topic, ref, rejoin = everJoined))
        val payload = try {
            params()
        } catch (e: kotlinx.coroutines.CancellationException) {
            throw e
        } catch (e: Exception) {
            JsonObject(emptyMap())
        }
        val p = Push(this, Events.JOIN, Payload.Json(payload), timeout) { push, reply -> joinAnswered(push, reply) }
        p.ref = ref
        if (!pushes.register(ref, p)) return
        p.startTimer()
        socket.send(Message(ref, ref, topic, Events.JOIN, Payload.Json(payload)))
    }

    private fun joinAnswered(push: Push, reply: Reply) {
        push.ref?.let { pushes.remove(it) }
        if (push.ref != joinRef || _state.value != ChannelState.JOINING) return // an outdated join
        when (reply) {
            is Reply.Ok -> {
                _state.value = ChannelState.JOINED
                rejoinTries = 0
                socket.emit(PhoenixEvent.Joined(topic, push.ref!!, reply.response, rejoin = everJoined))
                everJoined = true
                firstJoin.complete(reply)
                pushes.flush(canSendNow, sendPlain)
            }
            is Reply.Error -> {
                _state.value = ChannelState.ERRORED
                socket.emit(PhoenixEvent.Errored(topic, "join refused", reply))
                firstJoin.complete(reply)
                scheduleRejoin()
            }
            Reply.Timeout, is Reply.Failed -> {
                socket.send(Message(push.ref, socket.makeRef(), topic, Events.LEAVE, Payload.EMPTY))
                _state.value = ChannelState.ERRORED
                socket.emit(PhoenixEvent.Errored(topic, if (reply is Reply.Failed) "join not sent" else "join timed out", reply))
                firstJoin.complete(reply)
                scheduleRejoin()
            }
        }
    }

    /**
     * Sends [p] now (under the push table's lock, from [PushTable.offer] or [PushTable.flush]); if the socket went away meanwhile it waits for the rejoin, and a write that
     * fails for another reason fails it with that reason. A [permit] (see [PhoenixSocket.awaitRoom]) is given back
     * once the frame is written or has failed, or at once when the push goes back to wait for the rejoin.
     */
    private fun sendPush(p: Push, permit: Boolean = false) {
        val ref = socket.makeRef()
        p.ref = ref
        pushes.sent(ref, p)
        val written = try {
            socket.send(Message(joinRef, ref, topic, p.event, p.payload))
        } catch (e: Exception) { // the payload could not be encoded: nothing was queued
            pushes.remove(ref)
            if (permit) socket.releaseRoom()
            throw e
        }
        if (written == null) { // not connected any more: it goes after the rejoin
            if (permit) socket.releaseRoom()
            pushes.remove(ref)
            pushes.putBack(p)
            return
        }
        if (written.isCompleted && !written.isCancelled) { // written at once: the common case
            if (permit) socket.releaseRoom()
            return
        }
        written.invokeOnCompletion { e ->
            if (permit) socket.releaseRoom()
            if (e == null) return@invokeOnCompletion
            pushes.remove(ref)
            val failure = e as? dev.tether.TetherException.SendFailed
            if (failure?.reason == dev.tether.TetherException.SendFailure.NOT_CONNECTED) {
                pushes.putBack(p) // the socket dropped under it: after the rejoin
            } else {
                p.failed(
                    e as? dev.tether.TetherException
                        ?: dev.tether.TetherException.SendFailed(dev.tether.Frame.Text(topic), dev.tether.TetherException.SendFailure.CLOSED, e.toString()),
                )
            }
        }
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

    @JvmSynthetic
    internal suspend fun onSocketOpen() {
        rejoinTimer?.cancel()
        rejoinTries = 0
        if (joinCalled && _state.value == ChannelState.ERRORED) rejoin()
    }

    @JvmSynthetic
    internal fun onSocketClose() {
        rejoinTimer?.cancel()
        joinRef?.let { pushes.remove(it)?.abandon() }
        if (_state.value == ChannelState.JOINED || _state.value == ChannelState.JOINING) {
            _state.value = ChannelState.ERRORED
            socket.emit(PhoenixEvent.Errored(topic, "socket closed", null))
        }
        if (_state.value == ChannelState.LEAVING) closed()
    }

    /**
     * The socket reader's fast path: completes the ordinary push [inbound] answers, if it is one of this join's, and
     * returns true; false (nothing done) for anything else, which the router then handles. Any thread.
     */
    @JvmSynthetic
    internal fun completePlainReply(inbound: Inbound): Boolean {
        val m = inbound.message
        val reply = inbound.reply ?: return false
        if (m.joinRef != null && m.joinRef != joinRef) return false
        val p = m.ref?.let { pushes[it] } ?: return false
        if (!p.plain) return false // join and leave replies change the channel's state: on the serial dispatcher
        p.complete(replyOf(reply.first, reply.second))
        return true
    }

    @JvmSynthetic
    internal suspend fun handle(inbound: Inbound) {
        val m = inbound.message
        if (m.joinRef != null && m.joinRef != joinRef) return // from an outdated join
        when (m.event) {
            Events.REPLY -> {
                val reply = inbound.reply ?: return
                m.ref?.let { pushes[it] }?.complete(replyOf(reply.first, reply.second))
                return
            }
            Events.ERROR -> {
                if (_state.value == ChannelState.JOINED || _state.value == ChannelState.JOINING) {
                    joinRef?.let { pushes.remove(it)?.abandon() }
                    _state.value = ChannelState.ERRORED
                    socket.emit(PhoenixEvent.Errored(topic, "crashed", null))
                    scheduleRejoin()
                }
                return
            }
            Events.CLOSE -> {
                closed(byServer = true)
                return
            }
            Events.PRESENCE_STATE, Events.PRESENCE_DIFF -> presence.handle(m)
        }
        deliver(m)
    }

    /** On the router: never waits for a collector (see [delivery]). */
    private fun deliver(m: Message) {
        val w = waiters.firstOrNull { it.event == m.event && matches(it, m) }
        if (w != null) {
            waiters.remove(w)
            w.complete(m)
        } else {
            unmatched.addLast(m)
            while (unmatched.size > UNMATCHED_LIMIT) unmatched.removeFirst()
        }
        delivery.trySend(m)
    }

    private fun matches(w: Waiter, m: Message): Boolean {
        var ok = false
        socket.guarded("awaitMessage predicate") { ok = w.predicate(m) }
        return ok
    }

    private class Waiter(val event: String, val predicate: (Message) -> Boolean) {
        val result = CompletableDeferred<Message>()

        /** The message, once delivered (on the serial dispatcher, like every read of it). */
        var message: Message? = null
            private set

        fun complete(m: Message) {
            message = m
            result.complete(m)
        }
    }

    override fun toString(): String = "PhoenixChannel($topic, ${_state.value}, join_ref=$joinRef)"

    private companion object {
        const val UNMATCHED_LIMIT = 256
    }
}

/** The reply a server's `phx_reply` with [status] and [response] means. */
private fun replyOf(status: String, response: Payload): Reply = if (status == "ok") Reply.Ok(response) else Reply.Error(response)
