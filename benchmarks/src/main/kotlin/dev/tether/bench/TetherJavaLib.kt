package dev.tether.bench

import dev.tether.java.Listener
import dev.tether.java.TetherClient
import dev.tether.java.TetherConnection
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.asExecutor

/**
 * Tether's Java facade, used as its docs show: a [Listener] whose `onText`/`onBinary` answer with `sendText`,
 * on the default callback executor; sends from outside wait for their future.
 */
class TetherJavaLib : Lib {
    override val name = "tether-java"
    private val clients = java.util.concurrent.ConcurrentHashMap<Pair<String, Handler?>, TetherClient>()

    override fun open(url: String, handler: Handler?): Conn {
        val client = clients.computeIfAbsent(url to handler) { (u, h) -> client(u, h) }
        return JavaConn(client.connect().get(30, TimeUnit.SECONDS))
    }

    private fun client(url: String, handler: Handler?): TetherClient {
        val b = TetherClient.builder(url).logInfo(false).maxFrameSize(64L shl 20).maxMessageSize(64L shl 20)
            .compressionThreshold(if (DEFLATE) 0 else 1024)
        System.getProperty("bench.incoming")?.let { b.incomingBuffer(it.toInt(), dev.tether.OverflowPolicy.SUSPEND) }
        when (System.getProperty("bench.javaExecutor")) { // experiments; the default is the facade's own default
            "default" -> b.callbackExecutor(kotlinx.coroutines.Dispatchers.Default.asExecutor())
            "single" -> b.callbackExecutor(java.util.concurrent.Executors.newSingleThreadExecutor { r -> Thread(r).apply { isDaemon = true } })
            "direct" -> b.callbackExecutor(Runnable::run)
        }
        if (handler != null) {
            b.listener(object : Listener {
                override fun onText(connection: TetherConnection, text: String) = reply(connection, handler.onMessage(text))
                override fun onBinary(connection: TetherConnection, bytes: ByteArray) = reply(connection, handler.onMessage(bytes))
            })
        }
        return b.build()
    }

    private fun reply(c: TetherConnection, reply: Any?) {
        when (reply) {
            null -> Unit
            is String -> c.sendText(reply)
            else -> c.sendBinary(reply as ByteArray)
        }
    }

    override fun shutdown() = Unit

    private class JavaConn(val conn: TetherConnection) : Conn {
        override fun send(message: Any) {
            (if (message is String) conn.sendText(message) else conn.sendBinary(message as ByteArray)).get(30, TimeUnit.SECONDS)
        }

        override fun close() = conn.close()
    }
}
