package dev.tether.java

import dev.tether.ConnectionState
import dev.tether.Disconnect
import dev.tether.TetherException
import dev.tether.java.internal.KotlinOnly
import kotlin.time.toJavaDuration

/**
 * A snapshot of a connection's state, for Java: [kind] says which state, the other fields carry its data (null when
 * the state has none). Immutable.
 */
public class ConnectionStatus internal constructor(
    /** Which state. */
    public val kind: Kind,
    /** The attempt (connecting, connected, reconnecting), or 0. */
    public val attempt: Int,
    /** The delay before the next attempt (reconnecting), or null. */
    public val delay: java.time.Duration?,
    /** The error behind this state, or null. */
    public val cause: TetherException?,
    /** How the last connection ended (reconnecting, down), or null. */
    public val disconnect: DisconnectInfo?,
    /** The close code (closing, closed), or 0. */
    public val code: Int,
    /** The close reason (closing, closed), why it is paused (PAUSED, GATE or IDLE), or "". */
    public val reason: String,
    /** The handshake's HTTP status (connected), or 0. */
    public val status: Int,
    /** The handshake's response headers, names in lower case (connected), or empty. */
    public val headers: Map<String, List<String>>,
    /** The negotiated subprotocol (connected), or null. */
    public val subprotocol: String?,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    /**
     * The states of a connection; see `docs/lifecycle.md`. [NOT_STARTED]: `connect()` has not been called yet (the
     * core's states begin at CONNECTING once it has).
     */
    public enum class Kind { NOT_STARTED, CONNECTING, CONNECTED, RECONNECTING, DOWN, PAUSED, CLOSING, CLOSED }

    override fun toString(): String = "ConnectionStatus($kind, attempt=$attempt, delay=$delay, code=$code)"

}

/** How one connection ended, for Java. Immutable. */
public class DisconnectInfo internal constructor(
    /** The close code really sent or received (1006 without a close frame). */
    public val code: Int,
    /** The close reason, or a short description. */
    public val reason: String,
    /** True if the server started the close or the link failed. */
    public val byServer: Boolean,
    /** The error that ended the connection, or null for an orderly close. */
    public val cause: TetherException?,
    /** How long the connection was up. */
    public val uptime: java.time.Duration,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    override fun toString(): String = "DisconnectInfo(code=$code, reason=\"$reason\", byServer=$byServer, uptime=$uptime)"

}
