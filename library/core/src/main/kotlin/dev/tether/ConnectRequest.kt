package dev.tether

import dev.tether.internal.KotlinOnly
import dev.tether.internal.Redaction
import dev.tether.internal.UrlCheck

/**
 * What to connect to on one attempt: returned by the connect provider (see [WebSocketClientBuilder.connectWith]),
 * which Tether calls before every attempt so that tokens and one-time URLs are always fresh.
 *
 * @property url a `ws://` or `wss://` URL.
 * @property headers extra request headers (credentials belong here; Tether never logs Authorization or Cookie).
 * @property subprotocols the subprotocols to offer, most preferred first.
 */
public class ConnectRequest(
    public val url: String,
    public val headers: Map<String, String> = emptyMap(),
    public val subprotocols: List<String> = emptyList(),
) {
    init {
        UrlCheck.requireWebSocketUrl(url, "url")
        subprotocols.forEach { require(UrlCheck.isToken(it)) { "subprotocol \"$it\" is not a valid HTTP token" } }
        headers.forEach { (k, v) -> UrlCheck.requireHeader(k, v) }
    }

    /** A copy with other values. */
    public fun copy(
        url: String = this.url,
        headers: Map<String, String> = this.headers,
        subprotocols: List<String> = this.subprotocols,
    ): ConnectRequest = ConnectRequest(url, headers, subprotocols)

    override fun toString(): String = "ConnectRequest(url=${Redaction.url(url)}, headers=${headers.keys}, subprotocols=$subprotocols)"
}

/** What the connect provider is told about the attempt it is preparing. */
public class ConnectContext internal constructor(
    /** 0 for the first connection of a streak, then the reconnect attempt number. */
    public val attempt: Int,
    /** The request built from the static configuration; return it, or a copy with fresh values. */
    public val defaults: ConnectRequest,
    kotlinOnly: KotlinOnly = KotlinOnly(),
)
