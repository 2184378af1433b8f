package dev.tether

/**
 * What the server answered to a successful opening handshake.
 *
 * @property url the URL that was connected, with token-like query parameters redacted.
 * @property status the HTTP status (always 101 on success).
 * @property headers the response headers, names in lower case.
 * @property subprotocol the subprotocol the server selected, or null if it selected none.
 * @property tlsProtocol the TLS version negotiated for `wss://` (`TLSv1.3`, `TLSv1.2`), or null for `ws://` or when
 *   the engine does not say.
 */
public class Handshake @dev.tether.engine.TetherEngineApi constructor(
    public val url: String,
    public val status: Int,
    public val headers: Map<String, List<String>>,
    public val subprotocol: String?,
    public val tlsProtocol: String? = null,
) {
    /** The first value of header [name] (case-insensitive), or null. */
    public fun header(name: String): String? = headers[name.lowercase()]?.firstOrNull()

    override fun toString(): String = "Handshake(url=$url, status=$status, subprotocol=$subprotocol, tls=$tlsProtocol)"
}
