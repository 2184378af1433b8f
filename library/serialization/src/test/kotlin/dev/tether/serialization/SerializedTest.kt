package dev.tether.serialization

import dev.tether.ConnectionState
import dev.tether.Decision
import dev.tether.Frame
import dev.tether.TetherException
import dev.tether.testkit.TestWebSocketServer
import dev.tether.webSocketClient
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.BinaryFormat
import kotlinx.serialization.DeserializationStrategy
import kotlinx.serialization.SerializationStrategy
import kotlinx.serialization.Serializable
import kotlinx.serialization.json.Json
import kotlinx.serialization.modules.SerializersModule
import kotlin.time.Duration.Companion.seconds

@Serializable
data class Quote(val symbol: String, val price: Double)

/** A binary format for the test: JSON as UTF-8 bytes (a real app would add CBOR or ProtoBuf). */
private object Utf8Json : BinaryFormat {
    override val serializersModule: SerializersModule = Json.serializersModule
    override fun <T> encodeToByteArray(serializer: SerializationStrategy<T>, value: T): ByteArray =
        Json.encodeToString(serializer, value).toByteArray()
    override fun <T> decodeFromByteArray(deserializer: DeserializationStrategy<T>, bytes: ByteArray): T =
        Json.decodeFromString(deserializer, String(bytes))
}

class SerializedTest : FunSpec({

    test("a @Serializable class goes out as JSON and comes back typed") {
        TestWebSocketServer.echo().use { server ->
            webSocketClient(server.url()) { logInfo = false }.connect().use { conn ->
                withTimeout(10.seconds) {
                    conn.awaitConnected()
                    conn.sendSerialized(Quote("ACME", 1.5))
                    server.connections[0].awaitReceived(1, java.time.Duration.ofSeconds(5))[0].text shouldBe """{"symbol":"ACME","price":1.5}"""
                    conn.receiveDeserialized<Quote>() shouldBe Quote("ACME", 1.5)
                }
            }
        }
    }

    test("hooks send @Serializable values without naming a serializer, as connections do (text and binary)") {
        TestWebSocketServer.withScript { c -> c.awaitClosed(java.time.Duration.ofSeconds(30)) }.use { server ->
            webSocketClient(server.url()) {
                logInfo = false
                onConnect {
                    sendSerialized(Quote("ACME", 1.5))
                    sendSerialized(Quote("INIT", 2.0), Utf8Json)
                }
            }.connect().use { conn ->
                withTimeout(10.seconds) {
                    conn.awaitConnected()
                    conn.sendSerialized(Quote("BIN", 3.0), Utf8Json)
                    val got = server.awaitConnection(java.time.Duration.ofSeconds(5)).awaitReceived(3, java.time.Duration.ofSeconds(5))
                    got[0].text shouldBe """{"symbol":"ACME","price":1.5}"""
                    got[1].isBinary shouldBe true
                    got[1].text shouldBe """{"symbol":"INIT","price":2.0}"""
                    got[2].isBinary shouldBe true
                    got[2].text shouldBe """{"symbol":"BIN","price":3.0}"""
                }
            }
        }
    }

    test("a message that does not decode goes to onError with the raw frame; the connection and the flow go on") {
        TestWebSocketServer.withScript { c ->
            c.sendText("not json")
            c.sendText("""{"symbol":"ACME"}""") // a field missing
            c.sendText("""{"symbol":"ACME","price":2.0}""")
            c.echo()
        }.use { server ->
            val errors = java.util.concurrent.CopyOnWriteArrayList<TetherException>()
            webSocketClient(server.url()) {
                logInfo = false
                logErrors = false
                onError { e -> errors += e; Decision.Ignore }
            }.connect().use { conn ->
                withTimeout(10.seconds) {
                    conn.deserialized<Quote>().first() shouldBe Quote("ACME", 2.0)
                    while (errors.size < 2) kotlinx.coroutines.delay(10)
                }
                errors.map { (it as TetherException.DecodeFailed).frame } shouldBe
                    listOf(Frame.Text("not json"), Frame.Text("""{"symbol":"ACME"}"""))
                conn.state.value.shouldBeInstanceOf<ConnectionState.Connected>()
            }
        }
    }

    test("a binary format goes in binary frames") {
        TestWebSocketServer.echo().use { server ->
            webSocketClient(server.url()) { logInfo = false }.connect().use { conn ->
                withTimeout(10.seconds) {
                    conn.awaitConnected()
                    conn.sendSerialized(Quote("B", 3.0), Quote.serializer(), Utf8Json)
                    server.connections[0].awaitReceived(1, java.time.Duration.ofSeconds(5))[0].opcode shouldBe dev.tether.testkit.WireFrame.BINARY
                    conn.receiveDeserialized(Quote.serializer(), Utf8Json) shouldBe Quote("B", 3.0)
                }
            }
        }
    }
})
