package dev.tether.examples

import dev.tether.CloseCodes
import dev.tether.ConnectionState
import dev.tether.testkit.TestWebSocketServer
import dev.tether.webSocketClient
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.io.PrintStream
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource

/**
 * The README's demo: an embedded echo server on loopback and a Tether client. The client connects and echoes,
 * the server goes away and comes back on the same port, the client reconnects by itself with the backoff visible
 * (and a message sent while it was down arrives afterwards), then it closes cleanly.
 */
public fun main() {
    runDemo(System.out)
}

/** Runs the demo, printing the transcript to [out]. */
public fun runDemo(out: PrintStream): Unit = runBlocking {
    val start = TimeSource.Monotonic.markNow()
    fun say(who: String, what: String) {
        val ms = start.elapsedNow().inWholeMilliseconds
        out.println("%6d ms  %-7s %s".format(ms, who, what))
    }

    val server = TestWebSocketServer.echo()
    say("server", "echo server listening on ${server.url()}")
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    val client = webSocketClient(server.url("/demo")) {
        logInfo = false
        logErrors = false
        pingInterval = 5.seconds
        reconnect { backoff(250, 30_000, 1.5) }
        onConnect { handshake -> say("client", "connected (HTTP ${handshake.status}), attempt $attempt") }
        onText { text -> say("client", "received echo: \"$text\"") }
    }
    val conn = client.connectIn(scope)
    val watcher = scope.launch {
        conn.state.collect { s ->
            when (s) {
                is ConnectionState.Connecting -> say("state", "connecting (attempt ${s.attempt})")
                is ConnectionState.Connected -> say("state", "connected")
                is ConnectionState.Reconnecting -> say(
                    "state",
                    "reconnecting: attempt ${s.attempt} in ${s.delay.inWholeMilliseconds} ms" +
                        " (cause: ${s.disconnect?.let { "closed ${it.code}" } ?: s.cause?.javaClass?.simpleName})",
                )
                is ConnectionState.Down -> say("state", "down")
                is ConnectionState.Paused -> say("state", "paused (${s.reason})")
                is ConnectionState.Closing -> say("state", "closing (${s.code})")
                is ConnectionState.Closed -> say("state", "closed (${s.code} \"${s.reason}\")")
            }
        }
    }

    withTimeout(10.seconds) { conn.awaitConnected() }
    for (word in listOf("hello", "tether")) {
        conn.sendText(word)
        say("client", "sent \"$word\"")
    }
    delay(300)

    say("server", "going away (connections dropped, port closed)")
    server.stop()
    delay(1_500)
    say("client", "sending \"queued while offline\" (kept in the outbox)")
    val queued = scope.launch { conn.sendText("queued while offline") }
    delay(500)
    server.start()
    say("server", "back on the same port ${server.port}")
    withTimeout(30.seconds) {
        conn.state.first { it is ConnectionState.Connected }
        queued.join()
    }
    say("client", "reconnected by itself; the queued message was written")
    delay(300)

    val closed = conn.close(CloseCodes.NORMAL, "demo done")
    delay(50)
    watcher.cancel()
    say("client", "closed cleanly with ${closed.code} \"${closed.reason}\"")
    scope.cancel()
    server.close()
}
