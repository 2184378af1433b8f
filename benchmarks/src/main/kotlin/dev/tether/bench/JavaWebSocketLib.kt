package dev.tether.bench

import org.java_websocket.client.WebSocketClient
import org.java_websocket.handshake.ServerHandshake
import java.net.URI
import java.nio.ByteBuffer
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit

/** Java-WebSocket: a WebSocketClient per connection (its own reader and writer threads), as its docs show. */
class JavaWebSocketLib : Lib {
    override val name = "java-websocket"
    private val all = CopyOnWriteArrayList<WebSocketClient>()

    override fun open(url: String, handler: Handler?): Conn {
        val client = object : WebSocketClient(URI(url)) {
            override fun onOpen(handshakedata: ServerHandshake) = Unit
            override fun onMessage(message: String) = reply(this, handler?.onMessage(message))
            override fun onMessage(bytes: ByteBuffer) {
                val a = ByteArray(bytes.remaining())
                bytes.get(a)
                reply(this, handler?.onMessage(a))
            }

            override fun onClose(code: Int, reason: String?, remote: Boolean) = Unit
            override fun onError(ex: Exception) = Unit
        }
        client.connectionLostTimeout = 0
        check(client.connectBlocking(60, TimeUnit.SECONDS)) { "Java-WebSocket did not connect" }
        all += client
        return object : Conn {
            override fun send(message: Any) = reply(client, message)
            override fun close() = client.closeBlocking()
        }
    }

    private fun reply(ws: WebSocketClient, message: Any?) {
        when (message) {
            null -> Unit
            is String -> ws.send(message)
            else -> ws.send(message as ByteArray)
        }
    }

    override fun shutdown() = all.forEach { runCatching { it.closeConnection(1000, "") } }
}
