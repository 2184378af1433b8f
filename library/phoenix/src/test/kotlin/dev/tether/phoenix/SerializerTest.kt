package dev.tether.phoenix

import dev.tether.phoenix.internal.Serializer
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive

class SerializerTest : FunSpec({
    val json = Json

    test("V2 text frames are [join_ref, ref, topic, event, payload]") {
        val m = Message("1", "2", "room:1", "new_msg", Payload.Json(JsonObject(mapOf("body" to JsonPrimitive("hi")))))
        val text = Serializer.encodeText(m, json)
        text shouldBe """["1","2","room:1","new_msg",{"body":"hi"}]"""
        Serializer.decodeText(text, json).message shouldBe m
        Serializer.decodeText("""[null,null,"t","e",{}]""", json).message.joinRef shouldBe null
    }

    test("topics and events with quotes, backslashes and control characters are escaped and come back the same") {
        val odd = "room:\"a\\b\"\n\t\u0001é"
        val m = Message(null, "3", odd, "ev\"", Payload.Json(JsonObject(mapOf("k" to JsonPrimitive(odd)))))
        val text = Serializer.encodeText(m, json)
        Json.parseToJsonElement(text) // valid JSON
        Serializer.decodeText(text, json).message shouldBe m
    }

    test("a JSON reply carries its status and response") {
        val inbound = Serializer.decodeText("""["1","5","t","phx_reply",{"status":"error","response":{"reason":"no"}}]""", json)
        inbound.reply!!.first shouldBe "error"
        inbound.reply.second shouldBe Payload.Json(JsonObject(mapOf("reason" to JsonPrimitive("no"))))
    }

    test("binary push from the client: kind 0 and four lengths, as phoenix.js encodes it") {
        val bytes = Serializer.encodeBinary(Message("12", "13", "t", "ev", Payload.Binary(byteArrayOf(9, 8))))
        bytes.toList() shouldBe (byteArrayOf(0, 2, 2, 1, 2) + "1213tev".toByteArray() + byteArrayOf(9, 8)).toList()
    }

    test("binary push, reply and broadcast from the server decode as phoenix.js decodes them") {
        val push = Serializer.decodeBinary(byteArrayOf(0, 1, 1, 2) + "7tev".toByteArray() + byteArrayOf(1))
        push.message.joinRef shouldBe "7"
        push.message.topic shouldBe "t"
        push.message.event shouldBe "ev"
        push.message.payload shouldBe Payload.Binary(byteArrayOf(1))

        val reply = Serializer.decodeBinary(byteArrayOf(1, 1, 2, 1, 2) + "710tok".toByteArray() + byteArrayOf(5, 6))
        reply.message.ref shouldBe "10"
        reply.message.event shouldBe Events.REPLY
        reply.reply!!.first shouldBe "ok"
        reply.reply.second shouldBe Payload.Binary(byteArrayOf(5, 6))

        val broadcast = Serializer.decodeBinary(byteArrayOf(2, 1, 2) + "tev".toByteArray() + byteArrayOf(3))
        broadcast.message.joinRef shouldBe null
        broadcast.message.event shouldBe "ev"
    }

    test("malformed frames are rejected with a clear error") {
        shouldThrow<IllegalArgumentException> { Serializer.decodeText("""{"not":"an array"}""", json) }
        shouldThrow<IllegalArgumentException> { Serializer.decodeText("""["1","2","t"]""", json) }
        shouldThrow<IllegalArgumentException> { Serializer.decodeBinary(byteArrayOf(1, 5, 5, 5, 5)) }
        shouldThrow<IllegalArgumentException> { Serializer.decodeBinary(byteArrayOf(7)) }
    }
})

class PhoenixMisuseTest : FunSpec({
    test("joining a channel of a socket that was never connected fails with a clear message") {
        val socket = phoenixSocket("ws://127.0.0.1:9/socket")
        val e = shouldThrow<IllegalStateException> { socket.channel("room:1").join() }
        e.message shouldBe "connect() the socket before joining or pushing to its channels"
    }
})
