package dev.tether.phoenix.internal

import dev.tether.phoenix.Events
import dev.tether.phoenix.Message
import dev.tether.phoenix.Payload
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.contentOrNull
import kotlinx.serialization.json.jsonPrimitive

/**
 * The V2 serializer (`vsn=2.0.0`), as phoenix.js lays it out: text frames carry `[join_ref, ref, topic, event,
 * payload]`; binary frames start with a kind byte (push 0, reply 1, broadcast 2), then one length byte per field,
 * the fields, and the raw payload.
 */
internal object Serializer {
    private const val PUSH = 0
    private const val REPLY = 1
    private const val BROADCAST = 2

    /** `[join_ref, ref, topic, event, payload]`, written straight out (the payload by its own compact printer). */
    @Suppress("UNUSED_PARAMETER") // the payload is already a JSON tree: the Json configuration has nothing to add
    fun encodeText(m: Message, json: Json): String {
        val payload = (m.payload as Payload.Json).json.toString()
        val sb = StringBuilder(payload.length + m.topic.length + m.event.length + 32)
        sb.append('[')
        quoted(sb, m.joinRef).append(',')
        quoted(sb, m.ref).append(',')
        quoted(sb, m.topic).append(',')
        quoted(sb, m.event).append(',')
        return sb.append(payload).append(']').toString()
    }

    /** [s] as a JSON string (or `null`), escaped as RFC 8259 requires. */
    private fun quoted(sb: StringBuilder, s: String?): StringBuilder {
        if (s == null) return sb.append("null")
        sb.append('"')
        for (c in s) {
            when {
                c == '"' -> sb.append("\\\"")
                c == '\\' -> sb.append("\\\\")
                c < ' ' -> sb.append("\\u").append(String.format("%04x", c.code))
                else -> sb.append(c)
            }
        }
        return sb.append('"')
    }

    /** Client-to-server binary push: kind 0, then join_ref, ref, topic, event lengths. */
    fun encodeBinary(m: Message): ByteArray {
        val joinRef = (m.joinRef ?: "").toByteArray()
        val ref = (m.ref ?: "").toByteArray()
        val topic = m.topic.toByteArray()
        val event = m.event.toByteArray()
        listOf(joinRef, ref, topic, event).forEach { require(it.size <= 255) { "binary push field longer than 255 bytes" } }
        val data = (m.payload as Payload.Binary).data
        val out = ByteArray(5 + joinRef.size + ref.size + topic.size + event.size + data.size)
        out[0] = PUSH.toByte()
        out[1] = joinRef.size.toByte()
        out[2] = ref.size.toByte()
        out[3] = topic.size.toByte()
        out[4] = event.size.toByte()
        var o = 5
        for (part in listOf(joinRef, ref, topic, event, data)) {
            part.copyInto(out, o)
            o += part.size
        }
        return out
    }

    fun decodeText(text: String, json: Json): Inbound {
        val arr = json.parseToJsonElement(text) as? JsonArray ?: throw IllegalArgumentException("not a JSON array")
        require(arr.size == 5) { "expected 5 elements, got ${arr.size}" }
        val m = Message(
            joinRef = arr[0].jsonPrimitive.contentOrNull,
            ref = arr[1].jsonPrimitive.contentOrNull,
            topic = arr[2].jsonPrimitive.content,
            event = arr[3].jsonPrimitive.content,
            payload = Payload.Json(arr[4]),
        )
        val reply = if (m.event == Events.REPLY) {
            (arr[4] as? JsonObject)?.let { o ->
                val status = (o["status"] as? JsonPrimitive)?.contentOrNull
                status?.let { it to Payload.Json(o["response"] ?: JsonObject(emptyMap())) }
            }
        } else {
            null
        }
        return Inbound(m, reply)
    }

    fun decodeBinary(b: ByteArray): Inbound {
        require(b.isNotEmpty()) { "empty binary frame" }
        fun u(i: Int): Int {
            require(i < b.size) { "truncated binary frame" }
            return b[i].toInt() and 0xFF
        }
        var o = 0
        fun field(len: Int): String {
            require(o + len <= b.size) { "truncated binary frame" }
            return String(b, o, len, Charsets.UTF_8).also { o += len }
        }
        return when (val kind = u(0)) {
            PUSH -> {
                val joinRefLen = u(1)
                val topicLen = u(2)
                val eventLen = u(3)
                o = 4
                val joinRef = field(joinRefLen)
                val topic = field(topicLen)
                val event = field(eventLen)
                Inbound(Message(joinRef.ifEmpty { null }, null, topic, event, Payload.Binary(b.copyOfRange(o, b.size))), null)
            }
            REPLY -> {
                val joinRefLen = u(1)
                val refLen = u(2)
                val topicLen = u(3)
                val statusLen = u(4)
                o = 5
                val joinRef = field(joinRefLen)
                val ref = field(refLen)
                val topic = field(topicLen)
                val status = field(statusLen)
                val response = Payload.Binary(b.copyOfRange(o, b.size))
                return Inbound(Message(joinRef.ifEmpty { null }, ref, topic, Events.REPLY, response), status to response)
            }
            BROADCAST -> {
                val topicLen = u(1)
                val eventLen = u(2)
                o = 3
                val topic = field(topicLen)
                val event = field(eventLen)
                Inbound(Message(null, null, topic, event, Payload.Binary(b.copyOfRange(o, b.size))), null)
            }
            else -> throw IllegalArgumentException("unknown binary kind $kind")
        }
    }
}

/** A decoded frame; for replies, [reply] holds the status and the response. */
internal class Inbound(val message: Message, val reply: Pair<String, Payload>?)
