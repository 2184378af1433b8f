package dev.tether.engine

import dev.tether.CompressionBuilder
import javax.net.ssl.SSLContext
import kotlin.time.Duration

/**
 * What an engine must honour, taken from the client's configuration: limits it should enforce on frame headers
 * before allocating, the connect timeout, TLS and the `User-Agent`. Immutable.
 */
@TetherEngineApi
public class EngineSettings internal constructor(
    /** The largest frame to accept, in bytes. */
    public val maxFrameSize: Long,
    /** The largest reassembled message to accept, in bytes. */
    public val maxMessageSize: Long,
    /** The most frames one message may arrive in. */
    public val maxFragments: Int,
    /**
     * Time allowed for TCP, TLS and the upgrade together. Tether enforces it around [WebSocketEngine.open] (a
     * cancellation); an engine needs it only for timers of its own.
     */
    public val connectTimeout: Duration,
    /** The TLS context for `wss://`; null means the JDK's default (its trust store, TLS 1.3 and 1.2). */
    public val sslContext: SSLContext?,
    /** The `User-Agent` header value, or null to send none. */
    public val userAgent: String?,
    /** The proxy to go through, or null (see also [proxySelector]). */
    public val proxy: dev.tether.ProxyConfig? = null,
    /** Picks a proxy per URL when [proxy] is null (`java.net.ProxySelector`), or null for a direct connection. */
    public val proxySelector: java.net.ProxySelector? = null,
    /** permessage-deflate as the client wants it (Tether's own engine negotiates it; others may ignore it). */
    public val compression: dev.tether.CompressionConfig = CompressionBuilder().build(),
)
