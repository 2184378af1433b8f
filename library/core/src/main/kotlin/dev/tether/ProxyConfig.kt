package dev.tether

/**
 * A proxy to reach the server through: HTTP `CONNECT` or SOCKS5, for `ws://` and `wss://` alike (TLS runs inside
 * the tunnel, checked against the server's name). Credentials are sent to the proxy only, never logged, and never
 * shown by [toString]. Immutable.
 */
public class ProxyConfig private constructor(
    /** HTTP or SOCKS5. */
    public val type: Type,
    /** The proxy's host. */
    public val host: String,
    /** The proxy's port. */
    public val port: Int,
    @get:JvmSynthetic internal val username: String?,
    @get:JvmSynthetic internal val password: String?,
) {
    /** The kinds of proxies. */
    public enum class Type {
        /** An HTTP proxy, asked with `CONNECT host:port` (and `Proxy-Authorization: Basic` with credentials). */
        HTTP,

        /** A SOCKS5 proxy (RFC 1928), with username/password authentication (RFC 1929) when given credentials. */
        SOCKS5,
    }

    /** True when credentials are set. */
    public val hasCredentials: Boolean get() = username != null

    override fun toString(): String = "ProxyConfig($type $host:$port${if (hasCredentials) ", with credentials" else ""})"

    public companion object {
        /** An HTTP `CONNECT` proxy, optionally with Basic credentials. */
        @JvmStatic
        @JvmOverloads
        public fun http(host: String, port: Int, username: String? = null, password: String? = null): ProxyConfig =
            make(Type.HTTP, host, port, username, password)

        /** A SOCKS5 proxy, optionally with username/password credentials. */
        @JvmStatic
        @JvmOverloads
        public fun socks5(host: String, port: Int, username: String? = null, password: String? = null): ProxyConfig =
            make(Type.SOCKS5, host, port, username, password)

        private fun make(type: Type, host: String, port: Int, username: String?, password: String?): ProxyConfig {
            require(host.isNotBlank() && host.none { it.isWhitespace() }) { "proxy: host must be a host name or address" }
            require(port in 1..65535) { "proxy: port $port is outside 1-65535" }
            require((username == null) == (password == null)) { "proxy: give both username and password, or neither" }
            if (type == Type.SOCKS5 && username != null) {
                require(username.toByteArray().size in 1..255 && password!!.toByteArray().size in 1..255) {
                    "proxy: SOCKS5 username and password must be 1-255 bytes each"
                }
            }
            return ProxyConfig(type, host, port, username, password)
        }
    }
}
