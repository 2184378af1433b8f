package dev.tether.internal

import java.net.URI
import java.net.URISyntaxException

/** Validation of URLs and HTTP tokens used by the configuration. */
internal object UrlCheck {
    fun requireWebSocketUrl(url: String, option: String) {
        // Messages never echo the URL as given: it may hold user info or query values (secrets). The parser's own
        // message quotes its input, so only its reason and position are used.
        val uri = try {
            URI(url)
        } catch (e: URISyntaxException) {
            throw IllegalArgumentException("$option is not a valid URL: ${e.reason} at index ${e.index}")
        }
        val scheme = uri.scheme?.lowercase()
        require(scheme == "ws" || scheme == "wss") {
            "$option must start with ws:// or wss://, was ${uri.scheme?.let { "$it://" } ?: "no scheme"}"
        }
        require(!uri.host.isNullOrEmpty()) {
            "$option must name a valid host (letters, digits, '-' and '.', or an IP literal), in \"${Redaction.url(url)}\""
        }
        require(uri.port == -1 || uri.port in 1..65535) { "$option: port ${uri.port} is outside 1-65535" }
        require(uri.rawFragment == null) { "$option must not have a fragment (#...)" }
    }

    /** Headers Tether writes for the upgrade itself; a user value would break the handshake. */
    private val RESERVED = setOf(
        "upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "sec-websocket-accept",
        "sec-websocket-protocol", "sec-websocket-extensions", "content-length", "transfer-encoding",
    )

    fun requireHeader(name: String, value: String) {
        require(isToken(name)) { "header name \"$name\" is not a valid HTTP token" }
        require(name.lowercase() !in RESERVED) {
            "header \"$name\" is part of the WebSocket upgrade and set by Tether (use subprotocols() for Sec-WebSocket-Protocol)"
        }
        require(value.none { it == '\r' || it == '\n' || it == '\u0000' }) { "header \"$name\" value must not contain CR, LF or NUL" }
    }

    private const val SEPARATORS = "()<>@,;:\\\"/[]?={} \t"

    fun isToken(value: String): Boolean =
        value.isNotEmpty() && value.all { it.code in 33..126 && it !in SEPARATORS }
}
