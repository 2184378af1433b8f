package dev.tether.bench

import dev.tether.Connection
import dev.tether.Frame
import dev.tether.webSocketClient
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking

/** True for the -deflate scenarios: every message compressed, both ways. */
val DEFLATE: Boolean get() = System.getProperty("bench.deflate") == "true"

/** Tether's Kotlin API: a connection per URL in one scope, a coroutine that receives and answers. */
class TetherLib : Lib {
    override val name = "tether"
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    private val clients = java.util.concurrent.ConcurrentHashMap<String, dev.tether.WebSocketClient>()

    override fun open(url: String, handler: Handler?): Conn {
        if (handler != null && System.getProperty("bench.hooks") == "true") return openWithHooks(url, handler)
        val conn = clients.computeIfAbsent(url) { client(it) }.connectIn(scope)
        val connected = runBlocking { conn.awaitConnected() }
        if (DEFLATE) check(connected.handshake.header("sec-websocket-extensions") != null) { "permessage-deflate was not agreed" }
        if (handler != null) receive(conn, handler)
        return TetherConn(conn)
    }

    /** Experiment (-Dbench.hooks=true): the handler runs in an `onText`/`onBinary` hook instead of a receiving coroutine. */
    private fun openWithHooks(url: String, handler: Handler): Conn {
        val conn = webSocketClient(url) {
            logInfo = false
            maxFrameSize = 64L shl 20
            maxMessageSize = 64L shl 20
            onText { t -> (handler.onMessage(t) as? String)?.let { sendText(it) } }
            onBinary { b -> (handler.onMessage(b) as? ByteArray)?.let { sendBinary(it) } }
        }.connectIn(scope)
        runBlocking { conn.awaitConnected() }
        return TetherConn(conn)
    }

    /** One client per URL, shared by its connections, as the other libraries share theirs. */
    private fun client(url: String) = webSocketClient(url) {
        logInfo = false
        maxFrameSize = 64L shl 20
        maxMessageSize = 64L shl 20
        System.getProperty("bench.incoming")?.let { incomingBuffer(it.toInt()) }
        if (DEFLATE) compression { threshold = 0 }
    }

    private fun receive(conn: Connection, handler: Handler) {
        scope.launch(CoroutineName("bench-receiver")) {
            for (f in conn.incoming) {
                val msg: Any = when (f) {
                    is Frame.Text -> f.text
                    is Frame.Binary -> f.toByteArray()
                    else -> continue
                }
                when (val reply = handler.onMessage(msg)) {
                    null -> Unit
                    is String -> conn.sendText(reply)
                    else -> conn.send(Frame.Binary(reply as ByteArray))
                }
            }
        }
    }

    override fun shutdown() = scope.cancel()

    private class TetherConn(val conn: Connection) : Conn {
        override fun send(message: Any) = runBlocking {
            if (message is String) conn.sendText(message) else conn.send(Frame.Binary(message as ByteArray))
        }

        override fun close() = conn.close()
    }
}
