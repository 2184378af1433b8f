package dev.tether.internal

import java.net.URI

/** Validation of URLs and HTTP tokens used by the configuration. */
internal object UrlCheck {
    fun requireWebSocketUrl(url: String, option: String) {
        val uri = try {
            URI(url)
        } catch (e: Exception) {
            throw IllegalArgumentException("$option \"${Redaction.url(url)}\" is not a valid URL: ${e.message}")
        }
        val scheme = uri.scheme?.lowercase()
        require(scheme == "ws" || scheme == "wss") {
            "$option must start with ws:// or wss://, was \"${Redaction.url(url)}\""
        }
        require(!uri.host.isNullOrEmpty()) { "$option must name a host, was \"${Redaction.url(url)}\"" }
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
