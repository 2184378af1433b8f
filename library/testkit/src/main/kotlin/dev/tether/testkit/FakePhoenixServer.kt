package dev.tether.testkit

import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.contentOrNull
import kotlinx.serialization.json.jsonPrimitive
import java.time.Duration
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CopyOnWriteArrayList

/**
 * A fake Phoenix Channels server (V2 wire format, `/socket/websocket`) that tests can script: accept or refuse
 * joins, reply to pushes (JSON and binary), broadcast, crash or close a channel, kick or drop sockets, stop
 * answering heartbeats, emit presence. It records every join, push and heartbeat.
 *
 * Payloads cross its API as JSON text, so Java tests need no JSON library. Its wire behaviour is checked against
 * the official Phoenix JavaScript client. Thread-safe.
 */
public class FakePhoenixServer : AutoCloseable {
    /** A join as the server saw it. */
    public class Join(public val topic: String, public val joinRef: String, public val payload: String, public val socketId: Int) {
        override fun toString(): String = "Join($topic join_ref=$joinRef $payload)"
    }

    /** A push as the server saw it; [payload] is JSON text, or null for a binary push ([bytes]). */
    public class Push(
        public val topic: String,
        public val event: String,
        public val ref: String?,
        public val payload: String?,
        public val bytes: ByteArray?,
    ) {
        override fun toString(): String = "Push($topic $event ref=$ref ${payload ?: "${bytes?.size} bytes"})"
    }

    /** How to answer a join or a push. */
    public class Answer private constructor(@get:JvmSynthetic internal val status: String?, @get:JvmSynthetic internal val response: String) {
        public companion object {
            /** Reply `ok` with [responseJson]. */
            @JvmStatic
            @JvmOverloads
            public fun ok(responseJson: String = "{}"): Answer = Answer("ok", responseJson)

            /** Reply `error` with [responseJson] (e.g. `{"reason":"unauthorized"}`). */
            @JvmStatic
            @JvmOverloads
            public fun error(responseJson: String = "{}"): Answer = Answer("error", responseJson)

            /** Do not reply at all (the client's timeout will fire). */
            @JvmStatic
            public fun none(): Answer = Answer(null, "{}")
        }
    }

    /** Decides each join: (topic, payload JSON) → answer. */
    public fun interface JoinHandler {
        /** May throw, checked exceptions included: the join then gets an `error` reply naming the exception. */
        @Throws(Exception::class)
        public fun answer(topic: String, payloadJson: String): Answer
    }

    /** Decides each JSON push: (topic, event, payload JSON) → answer. */
    public fun interface PushHandler {
        /** May throw, checked exceptions included: the push then gets an `error` reply naming the exception. */
        @Throws(Exception::class)
        public fun answer(topic: String, event: String, payloadJson: String): Answer
    }

    /** Decides each binary push: (topic, event, bytes) → the bytes of an `ok` reply, or null for no reply. */
    public fun interface BinaryPushHandler {
        /** May throw, checked exceptions included: the push then gets no reply (the client's timeout fires). */
        @Throws(Exception::class)
        public fun answer(topic: String, event: String, bytes: ByteArray): ByteArray?
    }

    private inner class Session(val conn: ServerConnection) {
        val joined = ConcurrentHashMap<String, String>() // topic -> join_ref
    }

    private val json = Json
    private val sessions = CopyOnWriteArrayList<Session>()
    private val joinLog = Recorder<Join>()
    private val pushLog = Recorder<Push>()
    private val pongLog = Recorder<String>()

    @Volatile
    private var heartbeatCount = 0

    /** Decides joins; accepts every join with `{}` by default. */
    @Volatile
    public var joinHandler: JoinHandler = JoinHandler { _, _ -> Answer.ok() }

    /** Decides JSON pushes; echoes the payload with `ok` by default. */
    @Volatile
    public var pushHandler: PushHandler = PushHandler { _, _, payload -> Answer.ok(payload) }

    /** Decides binary pushes; echoes the bytes by default. */
    @Volatile
    public var binaryPushHandler: BinaryPushHandler = BinaryPushHandler { _, _, bytes -> bytes }

    /**
     * When false, pushes are answered but not recorded: [pushes] stays empty and [awaitPush] finds nothing. Every
     * recorded push is kept until the server is gone, so a long run (a benchmark, a soak test) turns this off to keep
     * the server's memory flat. True by default.
     */
    @Volatile
    public var recordPushes: Boolean = true

    /** When false, heartbeats are recorded but not answered. */
    @Volatile
    public var answerHeartbeats: Boolean = true

    /** The underlying WebSocket server (for its handshake records, restarts and refusals). */
    public val server: TestWebSocketServer = TestWebSocketServer(script = { conn -> serve(sessionOf(conn)) }).also {
        // registered before the 101, so a client that sees itself connected can already be kicked
        it.onAccept = ConnectionScript { conn -> sessions.add(Session(conn)) }
    }

    private fun sessionOf(conn: ServerConnection): Session = sessions.first { it.conn === conn }

    /** Starts on a free loopback port (or the same one after [stop]). */
    public fun start(): FakePhoenixServer {
        server.start()
        return this
    }

    /** Stops, dropping every socket; [start] again to come back on the same port. */
    public fun stop() {
        server.stop()
        sessions.clear()
    }

    override fun close() {
        server.close()
    }

    /** The endpoint clients take: `ws://127.0.0.1:port/socket` (they add `/websocket`). */
    public val endpoint: String get() = "ws://127.0.0.1:${server.port}/socket"

    /** Every join so far, in order. */
    public val joins: List<Join> get() = joinLog.items

    /** Every push so far (heartbeats, joins and leaves excluded), in order; none while [recordPushes] is false. */
    public val pushes: List<Push> get() = pushLog.items

    /** How many heartbeats arrived. */
    public val heartbeats: Int get() = heartbeatCount

    /**
     * Sends a WebSocket ping with [payload] to every open socket. A client's reader answers it after everything sent
     * before it, so [awaitPong] tells a test that the client has read all of that.
     */
    public fun pingSockets(payload: String) {
        sessions.filter { !it.conn.isClosed }.forEach { it.conn.sendPing(payload.toByteArray(Charsets.UTF_8)) }
    }

    /** Waits for the next pong from any socket and returns its payload. */
    public fun awaitPong(timeout: Duration): String = pongLog.awaitItem(timeout)

    /** The number of sockets open now. */
    public val openSockets: Int get() = sessions.count { !it.conn.isClosed }

    /** The next join not yet awaited. @throws AssertionError after [timeout]. */
    public fun awaitJoin(timeout: Duration): Join = joinLog.awaitItem(timeout)

    /** The next push not yet awaited. @throws AssertionError after [timeout]. */
    public fun awaitPush(timeout: Duration): Push = pushLog.awaitItem(timeout)

    /** Sends a broadcast (no join_ref) to every socket joined to [topic]. */
    public fun broadcast(topic: String, event: String, payloadJson: String) {
        forJoined(topic) { s, _ -> s.conn.sendText(frame(null, null, topic, event, parse(payloadJson))) }
    }

    /** Sends a binary broadcast (kind 2) to every socket joined to [topic]. */
    public fun broadcastBinary(topic: String, event: String, bytes: ByteArray) {
        val t = topic.toByteArray()
        val e = event.toByteArray()
        val out = byteArrayOf(2, t.size.toByte(), e.size.toByte()) + t + e + bytes
        forJoined(topic) { s, _ -> s.conn.sendBinary(out) }
    }

    /** Sends a message from the channel process (carrying the join_ref) to every socket joined to [topic]. */
    public fun push(topic: String, event: String, payloadJson: String) {
        forJoined(topic) { s, jr -> s.conn.sendText(frame(jr, null, topic, event, parse(payloadJson))) }
    }

    /** Crashes [topic]'s channel on every socket: `phx_error` with the join_ref; the client should rejoin. */
    public fun crashChannel(topic: String) {
        forJoined(topic) { s, jr ->
            s.joined.remove(topic)
            s.conn.sendText(frame(jr, jr, topic, "phx_error", JsonObject(emptyMap())))
        }
    }

    /** Closes [topic]'s channel from the server: `phx_close`; the client should not rejoin. */
    public fun closeChannel(topic: String) {
        forJoined(topic) { s, jr ->
            s.joined.remove(topic)
            s.conn.sendText(frame(jr, jr, topic, "phx_close", JsonObject(emptyMap())))
        }
    }

    /** Sends `presence_state` on [topic] (e.g. `{"alice":{"metas":[{"phx_ref":"1"}]}}`). */
    public fun presenceState(topic: String, stateJson: String) {
        forJoined(topic) { s, jr -> s.conn.sendText(frame(jr, null, topic, "presence_state", parse(stateJson))) }
    }

    /** Sends `presence_diff` on [topic] with joins and leaves (each like a presence state). */
    public fun presenceDiff(topic: String, joinsJson: String, leavesJson: String) {
        val diff = JsonObject(mapOf("joins" to parse(joinsJson), "leaves" to parse(leavesJson)))
        forJoined(topic) { s, jr -> s.conn.sendText(frame(jr, null, topic, "presence_diff", diff)) }
    }

    /** Closes every socket with [code] (a kick). */
    public fun kickSockets(code: Int, reason: String) {
        sessions.forEach { runCatching { it.conn.close(code, reason, awaitReply = false) } }
    }

    /** Drops every socket without a close frame. */
    public fun dropSockets() {
        sessions.forEach { it.conn.drop() }
    }

    private fun forJoined(topic: String, block: (Session, String) -> Unit) {
        sessions.forEach { s -> s.joined[topic]?.let { jr -> runCatching { block(s, jr) } } }
    }

    private fun serve(s: Session) {
        while (true) {
            val f = s.conn.nextFrame(Duration.ofDays(1)) ?: return
            try {
                when (f.opcode) {
                    WireFrame.TEXT -> onText(s, f.text)
                    WireFrame.BINARY -> onBinary(s, f.payload)
                    WireFrame.PONG -> pongLog.record(String(f.payload, Charsets.UTF_8))
                    WireFrame.CLOSE -> return
                }
            } catch (e: java.io.IOException) {
                return
            } catch (e: Exception) {
                // a malformed message from the client: ignore it, as Phoenix would log and carry on
            }
        }
    }

    private fun onText(s: Session, text: String) {
        val a = json.parseToJsonElement(text) as JsonArray
        val joinRef = a[0].jsonPrimitive.contentOrNull
        val ref = a[1].jsonPrimitive.contentOrNull
        val topic = a[2].jsonPrimitive.content
        val event = a[3].jsonPrimitive.content
        val payload = a[4]
        when {
            topic == "phoenix" && event == "heartbeat" -> {
                heartbeatCount++
                if (answerHeartbeats) reply(s, null, ref, topic, "ok", JsonObject(emptyMap()))
            }
            event == "phx_join" -> {
                val jr = joinRef ?: ref ?: return
                val answer = answering { joinHandler.answer(topic, payload.toString()) }
                joinLog.record(Join(topic, jr, payload.toString(), s.conn.id))
                val old = s.joined[topic]
                if (old != null && old != jr) s.conn.sendText(frame(old, old, topic, "phx_close", JsonObject(emptyMap())))
                if (answer.status == "ok") s.joined[topic] = jr else s.joined.remove(topic)
                answer.status?.let { reply(s, jr, ref, topic, it, parse(answer.response)) }
            }
            event == "phx_leave" -> {
                s.joined.remove(topic)
                reply(s, joinRef, ref, topic, "ok", JsonObject(emptyMap()))
            }
            else -> {
                if (recordPushes) pushLog.record(Push(topic, event, ref, payload.toString(), null))
                if (s.joined[topic] != joinRef) {
                    reply(s, joinRef, ref, topic, "error", JsonObject(mapOf("reason" to JsonPrimitive("unmatched topic"))))
                    return
                }
                val answer = answering { pushHandler.answer(topic, event, payload.toString()) }
                answer.status?.let { reply(s, joinRef, ref, topic, it, parse(answer.response)) }
            }
        }
    }

    private fun onBinary(s: Session, b: ByteArray) {
        if (b.isEmpty() || b[0].toInt() != 0) return // clients send kind 0 (push) only
        val lens = (1..4).map { b[it].toInt() and 0xFF }
        var o = 5
        val fields = lens.map { n -> String(b, o, n, Charsets.UTF_8).also { o += n } }
        val (joinRef, ref, topic, event) = fields
        val data = b.copyOfRange(o, b.size)
        if (recordPushes) pushLog.record(Push(topic, event, ref, null, data))
        val answer = try {
            binaryPushHandler.answer(topic, event, data)
        } catch (e: Exception) {
            null
        } ?: return
        val jr = joinRef.toByteArray()
        val r = ref.toByteArray()
        val t = topic.toByteArray()
        val st = "ok".toByteArray()
        s.conn.sendBinary(byteArrayOf(1, jr.size.toByte(), r.size.toByte(), t.size.toByte(), st.size.toByte()) + jr + r + t + st + answer)
    }

    private fun reply(s: Session, joinRef: String?, ref: String?, topic: String, status: String, response: JsonElement) {
        val payload = JsonObject(mapOf("status" to JsonPrimitive(status), "response" to response))
        s.conn.sendText(frame(joinRef, ref, topic, "phx_reply", payload))
    }

    private fun frame(joinRef: String?, ref: String?, topic: String, event: String, payload: JsonElement): String =
        JsonArray(listOf(str(joinRef), str(ref), JsonPrimitive(topic), JsonPrimitive(event), payload)).toString()

    private fun str(s: String?): JsonElement = if (s == null) JsonNull else JsonPrimitive(s)

    private fun parse(text: String): JsonElement = json.parseToJsonElement(text)

    /** A handler's answer; one that throws gets an `error` reply naming the exception (it never kills the session). */
    private inline fun answering(handler: () -> Answer): Answer = try {
        handler()
    } catch (e: Exception) {
        Answer.error(JsonObject(mapOf("reason" to JsonPrimitive("handler threw: $e"))).toString())
    }
}
