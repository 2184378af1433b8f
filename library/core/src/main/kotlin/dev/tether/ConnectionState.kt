package dev.tether

import dev.tether.internal.KotlinOnly
import kotlin.time.Duration

/**
 * The state of a [Connection], exposed as [Connection.state]. Each state carries what you need to understand it.
 *
 * ```
 * Connecting(0) ──ok──▶ Connected ──ends──▶ (onDisconnect decides) ──▶ Reconnecting ──delay──▶ Connecting(n)
 *      │                    │                                         └─▶ Down ──reconnect()──▶ Connecting
 *      └─fails─▶ (onError decides)                                     └─▶ Closing ──▶ Closed
 * ```
 * `close()` from any state leads through [Closing] (when connected) to [Closed], which is terminal.
 * See `docs/lifecycle.md` for the full transition table.
 *
 * New states may come in a minor release (0.x: any release): keep an `else` branch in a `when` over states.
 */
public sealed class ConnectionState {
    /**
     * Opening the connection. [attempt] is 0 for the first connection of a streak and then counts the
     * reconnect attempts since the last connection that stayed up for the configured stable time.
     */
    public class Connecting internal constructor(
        public val attempt: Int,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionState() {
        override fun toString(): String = "Connecting(attempt=$attempt)"
    }

    /** Open. [handshake] holds the server's status, headers and negotiated subprotocol. */
    public class Connected internal constructor(
        public val attempt: Int,
        public val handshake: Handshake,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionState() {
        override fun toString(): String = "Connected(attempt=$attempt, subprotocol=${handshake.subprotocol})"
    }

    /**
     * Waiting [delay] before reconnect attempt [attempt], because of [cause] (the failure) and, if a connection
     * had been up, how it ended ([disconnect]).
     */
    public class Reconnecting internal constructor(
        public val attempt: Int,
        public val delay: Duration,
        public val cause: TetherException?,
        public val disconnect: Disconnect?,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionState() {
        override fun toString(): String =
            "Reconnecting(attempt=$attempt, delay=$delay, cause=${cause?.javaClass?.simpleName}, disconnect=$disconnect)"
    }

    /** Not connected and not reconnecting (a hook decided [Decision.StayDown]); see [Connection.reconnect]. */
    public class Down internal constructor(
        public val cause: TetherException?,
        public val disconnect: Disconnect?,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionState() {
        override fun toString(): String = "Down(cause=${cause?.javaClass?.simpleName}, disconnect=$disconnect)"
    }

    /**
     * Not connected, and not trying, because the application said so: [reason] is [PauseReason.PAUSED]
     * (`pause()`), [PauseReason.GATE] (the `gate` flow is false) or [PauseReason.IDLE] (no traffic for
     * `idleTimeout`). The outbox is kept. It connects at once when the reason goes away (`resume()`, the gate opens,
     * or, when idle, the next send).
     */
    public class Paused internal constructor(
        public val reason: PauseReason,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionState() {
        override fun toString(): String = "Paused($reason)"
    }

    /** Running the closing handshake with [code] and [reason]; bounded by the close timeout. */
    public class Closing internal constructor(
        public val code: Int,
        public val reason: String,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionState() {
        override fun toString(): String = "Closing($code, \"$reason\")"
    }

    /**
     * Terminal. [code] and [reason] are those of the last close (sent or received; 1006 if none); [cause] is the
     * error that led here, or null after an orderly close.
     */
    public class Closed internal constructor(
        public val code: Int,
        public val reason: String,
        public val cause: TetherException?,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionState() {
        override fun toString(): String = "Closed($code, \"$reason\", cause=${cause?.javaClass?.simpleName})"
    }
}

/** Why a connection is [ConnectionState.Paused]; when several apply, the first listed here is shown. */
public enum class PauseReason {
    /** `pause()` was called (until `resume()`). */
    PAUSED,

    /** The client's `gate` flow said false (the app is in the background, the network is down, the user logged out). */
    GATE,

    /** No application traffic for `idleTimeout`: the next send (or `resume()`, or the gate opening) connects again. */
    IDLE,
}
