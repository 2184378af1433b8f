package dev.tether

/**
 * What the server answered to a successful opening handshake.
 *
 * @property url the URL that was connected, with token-like query parameters redacted.
 * @property status the HTTP status (always 101 on success).
 * @property headers the response headers, names in lower case.
 * @property subprotocol the subprotocol the server selected, or null if it selected none.
 */
public class Handshake(
    public val url: String,
    public val status: Int,
    public val headers: Map<String, List<String>>,
    public val subprotocol: String?,
) {
    /** The first value of header [name] (case-insensitive), or null. */
    public fun header(name: String): String? = headers[name.lowercase()]?.firstOrNull()

    override fun toString(): String = "Handshake(url=$url, status=$status, subprotocol=$subprotocol)"
}
