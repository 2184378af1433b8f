package dev.tether.phoenix

import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/** A connected socket with quick timings for tests against the fake Phoenix server. */
internal fun quickSocket(
    endpoint: String,
    pushTimeout: Duration = 2.seconds,
    block: PhoenixSocketBuilder.() -> Unit = {},
): PhoenixSocket = phoenixSocket(endpoint) {
    reconnectAfter { 50.milliseconds }
    rejoinAfter { 100.milliseconds }
    this.pushTimeout = pushTimeout
    tether { logInfo = false; logErrors = false; closeTimeout = 500.milliseconds }
    block()
}.also { it.connect() }

/** A JSON object of string values. */
internal fun obj(vararg pairs: Pair<String, String>) = JsonObject(pairs.associate { it.first to JsonPrimitive(it.second) })

/** Waits (real time, at most 10 s) until [check] holds. */
internal suspend fun eventually(check: () -> Boolean) = withTimeout(10.seconds) { while (!check()) delay(10) }

/**
 * A barrier for "this did not happen" checks against the client's own timers (a rejoin, a second join): waits until
 * the server has received [beats] more heartbeats, which the client sends on its own schedule (every 100 ms with
 * [beating]). A timer the client would have fired by then has fired, and a slow machine simply waits longer: no
 * fixed sleep.
 */
internal suspend fun awaitClientBeats(server: dev.tether.testkit.FakePhoenixServer, beats: Int = 3) {
    val before = server.heartbeats
    eventually { server.heartbeats >= before + beats }
}

/** Beats every 100 ms, but gives each reply 2 s (no liveness deadline under a second on a busy machine). */
internal val beating: PhoenixSocketBuilder.() -> Unit = {
    heartbeatInterval = 100.milliseconds
    heartbeatTimeout = 2.seconds
}
