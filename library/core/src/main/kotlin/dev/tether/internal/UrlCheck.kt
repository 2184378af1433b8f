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

    private const val SEPARATORS = "()<>@,;:\\\"/[]?={} \t"

    fun isToken(value: String): Boolean =
        value.isNotEmpty() && value.all { it.code in 33..126 && it !in SEPARATORS }
}
