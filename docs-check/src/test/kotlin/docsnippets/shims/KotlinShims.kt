/*
 * What the guides' Kotlin snippets use without declaring: the reader's own names (a URL, a token service, the
 * connection from an earlier snippet). Declared here so that the snippets compile as written; never run.
 */
package docsnippets.shims

import dev.tether.Connection
import dev.tether.Decision
import dev.tether.Disconnect
import dev.tether.phoenix.PhoenixChannel
import dev.tether.phoenix.PhoenixSocket
import io.micrometer.core.instrument.MeterRegistry
import io.micrometer.core.instrument.simple.SimpleMeterRegistry
import kotlinx.serialization.Serializable
import java.security.KeyStore
import kotlin.time.Duration

public val url: String = "ws://127.0.0.1:8080/feed"
public val token: String = "secret"
public val bytes: ByteArray = ByteArray(0)
public val myKeyStore: KeyStore = KeyStore.getInstance(KeyStore.getDefaultType())
public val registry: MeterRegistry = SimpleMeterRegistry()
public lateinit var conn: Connection
public lateinit var connection: Connection
public lateinit var socket: PhoenixSocket
public lateinit var room: PhoenixChannel

public fun store(bytes: ByteArray) { }
public fun myPolicy(d: Disconnect): Decision = Decision.Reconnect

/** A token service whose `fresh()` may refresh (suspends) and `current()` does not. */
public object tokens {
    public suspend fun fresh(): String = "token"
    public fun current(): String = "token"
}

/** The reader's metrics. */
public object metrics {
    public fun disconnect(code: Int) { }
    public fun rtt(rtt: Duration) { }
}

/** The reader's subscription message. */
@Serializable public data class Subscribe(val symbols: List<String>)

/** The client of an earlier snippet. */
public lateinit var client: dev.tether.WebSocketClient
