package dev.tether.testkit

import dev.tether.testkit.internal.AgreedCompression

/**
 * permessage-deflate (RFC 7692) as [TestWebSocketServer] agrees to it when a client offers it; set
 * [TestWebSocketServer.compression]. With it agreed, the server inflates compressed frames from the client (they are
 * recorded inflated, with RSV1 kept and [WireFrame.wireLength] the compressed size), and `sendText` / `sendBinary`
 * compress every message. A client that offers nothing is served uncompressed. Immutable.
 *
 * The answer names the parameters set here, plus `server_no_context_takeover` and `server_max_window_bits` when the
 * client asked for them. Use [HandshakeResponse.withHeader] instead to send an answer a correct server never would.
 */
public class ServerCompression @JvmOverloads constructor(
    /** Answer `server_no_context_takeover`: every message the server sends is compressed on its own. */
    public val serverNoContextTakeover: Boolean = false,
    /** Answer `client_no_context_takeover`. */
    public val clientNoContextTakeover: Boolean = false,
    /** Answer `client_max_window_bits=N` (8..15) when the client offered the parameter; null answers none. */
    public val clientMaxWindowBits: Int? = null,
    /** Answer `server_max_window_bits=N` (8..15); null answers none unless the client asked for a size. */
    public val serverMaxWindowBits: Int? = null,
) {
    init {
        require(clientMaxWindowBits == null || clientMaxWindowBits in 8..15) { "clientMaxWindowBits must be 8..15" }
        require(serverMaxWindowBits == null || serverMaxWindowBits in 8..15) { "serverMaxWindowBits must be 8..15" }
    }

    /** The answer to the client's `Sec-WebSocket-Extensions` [offer], or null when it offered no permessage-deflate. */
    @JvmSynthetic
    internal fun answer(offer: List<String>): AgreedCompression? {
        val element = offer.flatMap { it.split(',') }.map { it.trim() }
            .firstOrNull { it.substringBefore(';').trim().equals("permessage-deflate", ignoreCase = true) } ?: return null
        val params = element.split(';').drop(1).map { it.trim() }.filter { it.isNotEmpty() }
            .associate { p -> p.substringBefore('=').trim().lowercase() to p.substringAfter('=', "").trim().removeSurrounding("\"") }
        val noServerContext = serverNoContextTakeover || "server_no_context_takeover" in params
        val askedServerBits = params["server_max_window_bits"]?.toIntOrNull()
        val serverBits = listOfNotNull(serverMaxWindowBits, askedServerBits).minOrNull()
        val clientBits = if ("client_max_window_bits" in params) clientMaxWindowBits else null
        val header = buildString {
            append("permessage-deflate")
            if (noServerContext) append("; server_no_context_takeover")
            if (clientNoContextTakeover) append("; client_no_context_takeover")
            serverBits?.let { append("; server_max_window_bits=").append(it) }
            clientBits?.let { append("; client_max_window_bits=").append(it) }
        }
        return AgreedCompression(header, noServerContext, serverBits ?: 15)
    }
}
