package dev.tether.bench

import org.eclipse.jetty.websocket.api.Callback
import org.eclipse.jetty.websocket.api.Session
import org.eclipse.jetty.websocket.client.WebSocketClient
import java.net.URI
import java.nio.ByteBuffer
import java.util.concurrent.TimeUnit

/** Jetty 12's WebSocket client: one shared client, an auto-demanding listener per connection. */
class JettyLib : Lib {
    override val name = "jetty"
    private val client = WebSocketClient().apply {
        maxTextMessageSize = 64L shl 20
        maxBinaryMessageSize = 64L shl 20
        start()
    }

    override fun open(url: String, handler: Handler?): Conn {
        val listener = object : Session.Listener.AutoDemanding {
            @Volatile
            var session: Session? = null

            override fun onWebSocketOpen(session: Session) {
                this.session = session
            }

            override fun onWebSocketText(message: String) = reply(session!!, handler?.onMessage(message))

            override fun onWebSocketBinary(payload: ByteBuffer, callback: Callback) {
                val a = ByteArray(payload.remaining())
                payload.get(a)
                callback.succeed()
                reply(session!!, handler?.onMessage(a))
            }
        }
        val session = client.connect(listener, URI(url)).get(60, TimeUnit.SECONDS)
        return object : Conn {
            override fun send(message: Any) = reply(session, message)
            override fun close() = session.close()
        }
    }

    private fun reply(session: Session, message: Any?) {
        when (message) {
            null -> Unit
            is String -> session.sendText(message, Callback.NOOP)
            else -> session.sendBinary(ByteBuffer.wrap(message as ByteArray), Callback.NOOP)
        }
    }

    override fun shutdown() = client.stop()
}
