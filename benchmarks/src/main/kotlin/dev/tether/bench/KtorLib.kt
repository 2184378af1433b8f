package dev.tether.bench

import io.ktor.client.HttpClient
import io.ktor.client.engine.cio.CIO
import io.ktor.client.plugins.websocket.WebSockets
import io.ktor.client.plugins.websocket.webSocketSession
import io.ktor.websocket.Frame
import io.ktor.websocket.readText
import io.ktor.websocket.close
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking

/** Raw Ktor CIO: one shared HttpClient, a session per connection, a coroutine that receives and answers. */
class KtorLib : Lib {
    override val name = "ktor"
    private val client = HttpClient(CIO) {
        engine {
            // CIO's defaults (1 000 connections, 100 per route) would cap the idle scenario
            maxConnectionsCount = 100_000
            endpoint.maxConnectionsPerRoute = 100_000
        }
        install(WebSockets) { maxFrameSize = 64L shl 20 }
    }
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    override fun open(url: String, handler: Handler?): Conn {
        val session = runBlocking { client.webSocketSession(url) }
        if (handler != null) {
            scope.launch {
                for (f in session.incoming) {
                    val msg: Any = when (f) {
                        is Frame.Text -> f.readText()
                        is Frame.Binary -> f.data
                        else -> continue
                    }
                    when (val reply = handler.onMessage(msg)) {
                        null -> Unit
                        is String -> session.send(Frame.Text(reply))
                        else -> session.send(Frame.Binary(true, reply as ByteArray))
                    }
                }
            }
        }
        return object : Conn {
            override fun send(message: Any) = runBlocking {
                session.send(if (message is String) Frame.Text(message) else Frame.Binary(true, message as ByteArray))
            }

            override fun close() = runBlocking { session.close() }
        }
    }

    override fun shutdown() {
        scope.cancel()
        client.close()
    }
}
