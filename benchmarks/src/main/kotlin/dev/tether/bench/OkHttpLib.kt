package dev.tether.bench

import okhttp3.Dispatcher
import okhttp3.OkHttpClient
import okhttp3.Request
import okhttp3.Response
import okhttp3.WebSocket
import okhttp3.WebSocketListener
import okio.ByteString
import okio.ByteString.Companion.toByteString
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit

/** OkHttp: one shared client (dispatcher limits raised for many connections), a listener per connection. */
class OkHttpLib : Lib {
    override val name = "okhttp"
    private val client = OkHttpClient.Builder()
        .dispatcher(Dispatcher().apply { maxRequests = 100_000; maxRequestsPerHost = 100_000 })
        .readTimeout(0, TimeUnit.MILLISECONDS)
        .apply { if (DEFLATE) minWebSocketMessageToCompress(0) }
        .build()

    override fun open(url: String, handler: Handler?): Conn {
        val opened = CompletableFuture<WebSocket>()
        val ws = client.newWebSocket(Request.Builder().url(url.replace("ws://", "http://")).build(), object : WebSocketListener() {
            override fun onOpen(webSocket: WebSocket, response: Response) {
                if (DEFLATE && response.header("Sec-WebSocket-Extensions") == null) {
                    opened.completeExceptionally(IllegalStateException("permessage-deflate was not agreed"))
                }
                opened.complete(webSocket)
            }

            override fun onMessage(webSocket: WebSocket, text: String) {
                reply(webSocket, handler?.onMessage(text))
            }

            override fun onMessage(webSocket: WebSocket, bytes: ByteString) {
                reply(webSocket, handler?.onMessage(bytes.toByteArray()))
            }

            override fun onFailure(webSocket: WebSocket, t: Throwable, response: Response?) {
                opened.completeExceptionally(t)
            }
        })
        opened.get(60, TimeUnit.SECONDS)
        return object : Conn {
            override fun send(message: Any) = reply(ws, message)
            override fun close() {
                ws.close(1000, null)
            }
        }
    }

    private fun reply(ws: WebSocket, message: Any?) {
        when (message) {
            null -> Unit
            is String -> ws.send(message)
            else -> ws.send((message as ByteArray).toByteString())
        }
    }

    override fun shutdown() {
        client.dispatcher.executorService.shutdownNow()
        client.connectionPool.evictAll()
    }
}
