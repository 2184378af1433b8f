package dev.tether

import dev.tether.internal.KotlinOnly

/**
 * permessage-deflate (RFC 7692) as Tether's own engine offers it. Built with `compression { }` in the client
 * builder; on by default. Immutable.
 *
 * Tether offers the extension in every upgrade request and uses it only if the server accepts; a server that does
 * not is talked to uncompressed. Incoming compressed messages are inflated on the connection's event loop with the
 * inflated size counted against `maxMessageSize` as it grows (a compression bomb fails with 1009 before the limit
 * is allocated). Outgoing messages of at least [threshold] bytes are compressed, unless sent with `compress = false`
 * ([Frame.Text], [Frame.Binary]). Zlib state (native memory) is created at the first compressed message, not at
 * connect, and goes back to a small shared pool (or is freed) when the connection ends.
 *
 * Other engines (`tether-ktor`) do not negotiate it; a `compression { }` block with one fails at build time: configure
 * compression on that engine's own client.
 */
public class CompressionConfig internal constructor(
    /** True when the extension is offered. */
    public val enabled: Boolean,
    /** Outgoing messages smaller than this many bytes are sent uncompressed. */
    public val threshold: Int,
    /** The zlib level for outgoing messages, 1 (fastest) to 9 (smallest). */
    public val level: Int,
    /** The largest LZ77 window (as a power of two, 8..15) Tether offers to compress with; 15 asks for no limit. */
    public val clientMaxWindowBits: Int,
    /** The window (8..15) Tether asks the server to compress with, or null to leave it to the server. */
    public val serverMaxWindowBits: Int?,
    /** True to offer compressing each outgoing message on its own (less native memory, larger output). */
    public val clientNoContextTakeover: Boolean,
    /** True to ask the server to compress each message on its own (saves the server memory). */
    public val serverNoContextTakeover: Boolean,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    override fun toString(): String =
        if (!enabled) "CompressionConfig(off)" else "CompressionConfig(threshold=$threshold, level=$level, " +
            "clientMaxWindowBits=$clientMaxWindowBits, serverMaxWindowBits=$serverMaxWindowBits, " +
            "clientNoContextTakeover=$clientNoContextTakeover, serverNoContextTakeover=$serverNoContextTakeover)"
}

/**
 * Configures permessage-deflate; see [CompressionConfig] for what each option does. Invalid values fail at build
 * time with a message naming the option. Not thread-safe: use it inside the builder block.
 */
@TetherDsl
public class CompressionBuilder internal constructor(kotlinOnly: KotlinOnly = KotlinOnly()) {
    /** Offer the extension (default true). */
    public var enabled: Boolean = true

    /** Outgoing messages below this many bytes are not compressed (default 1024; 0 compresses every message). */
    public var threshold: Int = DEFAULT_THRESHOLD
        set(value) {
            require(value >= 0) { "compression.threshold must be >= 0, was $value" }
            field = value
        }

    /** The zlib level, 1..9 (default 6). */
    public var level: Int = DEFAULT_LEVEL
        set(value) {
            require(value in 1..9) { "compression.level must be between 1 and 9, was $value" }
            field = value
        }

    /** The largest window Tether will compress with, 8..15 (default 15: whatever the server allows). */
    public var clientMaxWindowBits: Int = 15
        set(value) {
            require(value in 8..15) { "compression.clientMaxWindowBits must be between 8 and 15, was $value" }
            field = value
        }

    /** The window to ask the server for, 8..15, or null (default) to ask for none. */
    public var serverMaxWindowBits: Int? = null
        set(value) {
            require(value == null || value in 8..15) { "compression.serverMaxWindowBits must be between 8 and 15, was $value" }
            field = value
        }

    /** Compress each outgoing message on its own (default false). */
    public var clientNoContextTakeover: Boolean = false

    /** Ask the server to compress each message on its own (default false). */
    public var serverNoContextTakeover: Boolean = false

    @JvmSynthetic
    internal fun build(): CompressionConfig = CompressionConfig(
        enabled, threshold, level, clientMaxWindowBits, serverMaxWindowBits, clientNoContextTakeover, serverNoContextTakeover,
    )
}

/** Smaller messages gain little and cost a zlib call each (OkHttp's minimum is the same). */
private const val DEFAULT_THRESHOLD: Int = 1024
private const val DEFAULT_LEVEL: Int = 6
