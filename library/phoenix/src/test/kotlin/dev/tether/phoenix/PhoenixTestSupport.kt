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
