package dev.tether.java

import dev.tether.ConnectionState
import dev.tether.Disconnect
import dev.tether.TetherException
import kotlin.time.toJavaDuration

/**
 * A snapshot of a connection's state, for Java: [kind] says which state, the other fields carry its data (null when
 * the state has none). Immutable.
 */
public class ConnectionStatus private constructor(
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
) {
    /**
     * The states of a connection; see `docs/lifecycle.md`. [NOT_STARTED]: `connect()` has not been called yet (the
     * core's states begin at CONNECTING once it has).
     */
    public enum class Kind { NOT_STARTED, CONNECTING, CONNECTED, RECONNECTING, DOWN, PAUSED, CLOSING, CLOSED }

    override fun toString(): String = "ConnectionStatus($kind, attempt=$attempt, delay=$delay, code=$code)"

    internal companion object {
        @JvmSynthetic
        fun of(s: ConnectionState): ConnectionStatus = when (s) {
            is ConnectionState.Connecting -> make(Kind.CONNECTING, attempt = s.attempt)
            is ConnectionState.Connected -> make(
                Kind.CONNECTED, attempt = s.attempt, status = s.handshake.status, headers = s.handshake.headers,
                subprotocol = s.handshake.subprotocol,
            )
            is ConnectionState.Reconnecting -> make(
                Kind.RECONNECTING, attempt = s.attempt, delay = s.delay.toJavaDuration(), cause = s.cause,
                disconnect = s.disconnect?.let { DisconnectInfo.of(it) },
            )
            is ConnectionState.Down -> make(Kind.DOWN, cause = s.cause, disconnect = s.disconnect?.let { DisconnectInfo.of(it) })
            is ConnectionState.Paused -> make(Kind.PAUSED, reason = s.reason.name)
            is ConnectionState.Closing -> make(Kind.CLOSING, code = s.code, reason = s.reason)
            is ConnectionState.Closed -> make(Kind.CLOSED, code = s.code, reason = s.reason, cause = s.cause)
        }

        /** Before `connect()`: [Kind.NOT_STARTED]. */
        @JvmSynthetic
        fun notStarted(): ConnectionStatus = make(Kind.NOT_STARTED)

        private fun make(
            kind: Kind,
            attempt: Int = 0,
            delay: java.time.Duration? = null,
            cause: TetherException? = null,
            disconnect: DisconnectInfo? = null,
            code: Int = 0,
            reason: String = "",
            status: Int = 0,
            headers: Map<String, List<String>> = emptyMap(),
            subprotocol: String? = null,
        ) = ConnectionStatus(kind, attempt, delay, cause, disconnect, code, reason, status, headers, subprotocol)
    }
}

/** How one connection ended, for Java. Immutable. */
public class DisconnectInfo private constructor(
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
) {
    override fun toString(): String = "DisconnectInfo(code=$code, reason=\"$reason\", byServer=$byServer, uptime=$uptime)"

    internal companion object {
        @JvmSynthetic
        fun of(d: Disconnect) = DisconnectInfo(d.code, d.reason, d.byServer, d.cause, d.uptime.toJavaDuration())
    }
}
