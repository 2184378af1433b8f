package dev.tether.bench

/**
 * What a scenario does with each message it receives: returns the reply to send (a String or a ByteArray), or
 * null. Called on the library's own delivery thread or coroutine, one message at a time per connection.
 */
fun interface Handler {
    fun onMessage(message: Any): Any?
}

/** One open connection of a library under test. */
interface Conn {
    /** Sends from outside the handler (the scenario's first messages). */
    fun send(message: Any)

    fun close()
}

/** A client library driven the way its own documentation shows: its idiomatic API, one shared client. */
interface Lib {
    val name: String

    /** Opens [url], delivering messages to [handler] (null: ignore them); returns once the connection is open. */
    fun open(url: String, handler: Handler?): Conn

    /** Ends everything the library started. */
    fun shutdown()

    companion object {
        fun of(name: String): Lib = when (name) {
            "tether" -> TetherLib()
            "tether-java" -> TetherJavaLib()
            "ktor" -> KtorLib()
            "okhttp" -> OkHttpLib()
            "java-websocket" -> JavaWebSocketLib()
            "jetty" -> JettyLib()
            "nio" -> NioLib()
            else -> error("unknown library $name")
        }

        val ALL = listOf("tether", "tether-java", "ktor", "okhttp", "java-websocket", "jetty", "nio")
    }
}
