package dev.tether.internal.deflate

import dev.tether.CompressionConfig

/**
 * What both sides agreed for permessage-deflate (RFC 7692 §7.1). [clientWindowBits] bounds the back-references
 * Tether may emit; [serverNoContextTakeover] says the server starts every message afresh, so the inflater may be
 * reset (and pooled) between messages. The server's window needs no state: the JDK's inflater takes any window up to
 * 15 bits. Immutable.
 */
internal class DeflateParams(
    val serverNoContextTakeover: Boolean,
    val clientNoContextTakeover: Boolean,
    val clientWindowBits: Int,
) {
    override fun toString(): String =
        "permessage-deflate(server_no_context_takeover=$serverNoContextTakeover, client_no_context_takeover=" +
            "$clientNoContextTakeover, client_max_window_bits=$clientWindowBits)"
}

/** The offer Tether makes from a [CompressionConfig], and the strict check of the server's answer to it. */
internal object DeflateNegotiation {
    const val NAME = "permessage-deflate"

    /**
     * The `Sec-WebSocket-Extensions` value offered for [config]. With `serverMaxWindowBits` set, a second offer
     * without it follows (RFC 7692 §7.1.3's fallback): servers that drop that parameter from their answer (Jetty,
     * Undertow, nginx in front of Jetty) then agree to the second offer and run compressed, instead of failing the
     * handshake on an answer that matches neither.
     */
    fun offer(config: CompressionConfig): String = buildString {
        element(config, withServerWindow = true)
        if (config.serverMaxWindowBits != null) {
            append(", ")
            element(config, withServerWindow = false)
        }
    }

    private fun StringBuilder.element(config: CompressionConfig, withServerWindow: Boolean) {
        append(NAME)
        if (config.clientNoContextTakeover) append("; client_no_context_takeover")
        if (config.serverNoContextTakeover) append("; server_no_context_takeover")
        if (withServerWindow) config.serverMaxWindowBits?.let { append("; server_max_window_bits=").append(it) }
        // Always offered: it tells the server Tether can honour a smaller client window, so it may ask for one.
        if (config.clientMaxWindowBits == 15) append("; client_max_window_bits") else append("; client_max_window_bits=").append(config.clientMaxWindowBits)
    }

    /**
     * The agreed parameters, from the server's `Sec-WebSocket-Extensions` [values] (null when it accepted no
     * extension). Throws [IllegalArgumentException] with the reason for an answer Tether did not offer or cannot
     * honour: another extension, permessage-deflate twice, an unknown, repeated or malformed parameter, a window out
     * of 8..15 or larger than offered, or a parameter offered but not agreed to (a missing `server_max_window_bits`
     * is the fallback offer's answer, and fine).
     */
    fun accept(config: CompressionConfig?, values: List<String>): DeflateParams? {
        val elements = values.flatMap { splitOutsideQuotes(it, ',') }.map { it.trim() }.filter { it.isNotEmpty() }
        if (elements.isEmpty()) return null
        val name = elements[0].substringBefore(';').trim()
        require(config != null && config.enabled && name.equals(NAME, ignoreCase = true)) {
            "the server named extension \"${printable(name)}\", which was not offered"
        }
        require(elements.size == 1) {
            "the server named ${elements.size} extensions (${elements.joinToString { printable(it.substringBefore(';').trim()) }}); only permessage-deflate was offered, once"
        }
        val params = HashMap<String, String?>()
        splitOutsideQuotes(elements[0], ';').drop(1).map { it.trim() }.filter { it.isNotEmpty() }.forEach { p ->
            val key = p.substringBefore('=').trim().lowercase()
            val value = if ('=' in p) p.substringAfter('=').trim().removeSurrounding("\"") else null
            require(key !in params) { "the server repeated permessage-deflate parameter \"${printable(key)}\"" }
            params[key] = value
        }
        for ((key, value) in params) {
            when (key) {
                "server_no_context_takeover", "client_no_context_takeover" ->
                    require(value == null) { "permessage-deflate parameter $key takes no value" }
                "server_max_window_bits", "client_max_window_bits" -> {
                    val bits = value?.toIntOrNull()
                    require(bits != null && bits in 8..15 && value.all { it in '0'..'9' }) {
                        "permessage-deflate parameter $key must be a window size from 8 to 15, was ${if (value == null) "empty" else "\"${printable(value)}\""}"
                    }
                }
                else -> throw IllegalArgumentException("the server answered with permessage-deflate parameter \"${printable(key)}\", which Tether does not know")
            }
        }
        if (config.serverNoContextTakeover) {
            require("server_no_context_takeover" in params) { "the server did not agree to server_no_context_takeover, which was asked for" }
        }
        val serverBits = params["server_max_window_bits"]?.toInt()
        config.serverMaxWindowBits?.let { asked ->
            // no value: the server took the fallback offer, which does not ask for a window (see [offer])
            require(serverBits == null || serverBits <= asked) {
                "the server answered server_max_window_bits=$serverBits, not at most the $asked asked for"
            }
        }
        val clientBits = params["client_max_window_bits"]?.toInt()
        if (clientBits != null) {
            require(clientBits <= config.clientMaxWindowBits) {
                "the server answered client_max_window_bits=$clientBits, larger than the ${config.clientMaxWindowBits} offered"
            }
        }
        return DeflateParams(
            serverNoContextTakeover = "server_no_context_takeover" in params,
            clientNoContextTakeover = config.clientNoContextTakeover || "client_no_context_takeover" in params,
            clientWindowBits = minOf(clientBits ?: 15, config.clientMaxWindowBits),
        )
    }

    private fun splitOutsideQuotes(s: String, sep: Char): List<String> {
        val out = ArrayList<String>()
        var quoted = false
        var start = 0
        for (i in s.indices) {
            val c = s[i]
            if (c == '"') quoted = !quoted
            if (c == sep && !quoted) {
                out.add(s.substring(start, i))
                start = i + 1
            }
        }
        out.add(s.substring(start))
        return out
    }

    /** A server-chosen token as shown in a message: printable ASCII only, at most 40 characters. */
    private fun printable(s: String): String = s.take(40).filter { it.code in 32..126 }
}
