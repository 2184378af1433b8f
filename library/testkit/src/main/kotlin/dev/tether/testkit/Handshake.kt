package dev.tether.testkit

/**
 * The opening handshake a client sent, as the server saw it.
 *
 * @property path the request path without the query.
 * @property query the raw query string, or "" when there is none.
 * @property headers the request headers, names in lower case.
 * @property subprotocols the subprotocols the client offered, in its order.
 * @property tlsServerName the host name the client sent in TLS SNI, or null (plain `ws://`, or no SNI, as for an
 *   IP-literal URL).
 */
public class HandshakeRequest(
    public val path: String,
    public val query: String,
    public val headers: Map<String, List<String>>,
    public val subprotocols: List<String>,
) {
    public var tlsServerName: String? = null
        @JvmSynthetic internal set

    /** The first value of header [name] (case-insensitive), or null. */
    public fun header(name: String): String? = headers[name.lowercase()]?.firstOrNull()

    /** The first value of query parameter [name], URL-decoded, or null. */
    public fun queryParameter(name: String): String? = query.split('&').firstNotNullOfOrNull { part ->
        val i = part.indexOf('=')
        val k = if (i < 0) part else part.substring(0, i)
        if (k == name) java.net.URLDecoder.decode(if (i < 0) "" else part.substring(i + 1), Charsets.UTF_8) else null
    }

    override fun toString(): String = "HandshakeRequest(path=$path, subprotocols=$subprotocols)"
}

/**
 * How the server answers an upgrade request: accept (with a subprotocol) or refuse with a status. An accepting
 * answer can be bent for tests of a client's checks: [withHeader] replaces or adds a header of the `101` (including
 * `Upgrade`, `Connection` and `Sec-WebSocket-Accept`), [withoutHeader] leaves one out, and [followedBy] sends bytes in
 * the same write as the `101`. Immutable.
 */
public class HandshakeResponse private constructor(
    public val status: Int,
    public val subprotocol: String?,
    public val headers: Map<String, String>,
    public val body: String,
    private val overrides: Map<String, String?> = emptyMap(),
    private val trailing: ByteArray = ByteArray(0),
) {
    /** This `101` with header [name] set to [value] (replacing Tether-kit defaults of the same name). */
    public fun withHeader(name: String, value: String): HandshakeResponse = bent(overrides + (name to value), trailing)

    /** This `101` without header [name] (e.g. `Sec-WebSocket-Accept`). */
    public fun withoutHeader(name: String): HandshakeResponse = bent(overrides + (name to null), trailing)

    /** This `101` followed, in the same write, by [bytes] (e.g. a frame header). */
    public fun followedBy(bytes: ByteArray): HandshakeResponse = bent(overrides, trailing + bytes)

    /** True when [withHeader] or [withoutHeader] set header [name]. */
    @JvmSynthetic
    internal fun overridesHeader(name: String): Boolean = overrides.keys.any { it.equals(name, ignoreCase = true) }

    private fun bent(o: Map<String, String?>, t: ByteArray): HandshakeResponse {
        check(status == 101) { "only an accepting response can be bent" }
        return HandshakeResponse(status, subprotocol, headers, body, o, t)
    }

    /** The `101` head for a request with [acceptKey] as its expected `Sec-WebSocket-Accept`, then the trailing bytes. */
    @JvmSynthetic
    internal fun acceptBytes(acceptKey: String): ByteArray {
        val h = LinkedHashMap<String, String?>()
        h["Upgrade"] = "websocket"
        h["Connection"] = "Upgrade"
        h["Sec-WebSocket-Accept"] = acceptKey
        subprotocol?.let { h["Sec-WebSocket-Protocol"] = it }
        overrides.forEach { (k, v) ->
            h.keys.firstOrNull { it.equals(k, ignoreCase = true) }?.let { h.remove(it) }
            h[k] = v
        }
        val head = StringBuilder("HTTP/1.1 101 Switching Protocols\r\n")
        h.forEach { (k, v) -> if (v != null) head.append("$k: $v\r\n") }
        head.append("\r\n")
        return head.toString().toByteArray(Charsets.ISO_8859_1) + trailing
    }

    public companion object {
        /** Accept the upgrade, selecting [subprotocol] (null: none). */
        @JvmStatic
        @JvmOverloads
        public fun accept(subprotocol: String? = null): HandshakeResponse = HandshakeResponse(101, subprotocol, emptyMap(), "")

        /** Refuse the upgrade with [status], extra [headers] (e.g. `Retry-After`) and a [body]. */
        @JvmStatic
        @JvmOverloads
        public fun refuse(status: Int, headers: Map<String, String> = emptyMap(), body: String = ""): HandshakeResponse {
            require(status in 200..599 && status != 101) { "refuse status must be an HTTP status other than 101, was $status" }
            return HandshakeResponse(status, null, headers, body)
        }
    }
}

/** Decides how to answer each upgrade request. */
public fun interface HandshakeHandler {
    /**
     * Called on the connection's thread before anything is sent. It may throw, checked exceptions included (a Java
     * lambda may too): the server then refuses with 500 and the exception in the body.
     */
    @Throws(Exception::class)
    public fun answer(request: HandshakeRequest): HandshakeResponse
}

/** A script run for every accepted connection, on a thread of its own. */
public fun interface ConnectionScript {
    /**
     * Runs the script; when it returns, the connection stays open until the client or a test closes it. It may throw,
     * checked exceptions included (a Java lambda may too): the server then closes the connection with 1011 and the
     * exception as the reason, so the client under test sees it.
     */
    @Throws(Exception::class)
    public fun run(connection: ServerConnection)
}
