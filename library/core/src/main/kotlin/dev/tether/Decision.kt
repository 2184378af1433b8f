package dev.tether

import kotlin.time.Duration

/**
 * What the `onError` and `onDisconnect` hooks return: what the supervisor does next. Hooks never connect or
 * close themselves; they decide, and the supervisor acts.
 *
 * Closed: no new subtypes will be added, so a `when` over decisions may be exhaustive.
 */
public sealed class Decision {
    /** Reconnect after the backoff delay for the current attempt. */
    public object Reconnect : Decision() {
        override fun toString(): String = "Reconnect"
    }

    /** Reconnect after exactly [delay] (e.g. a server's Retry-After), counting as an attempt. */
    public class ReconnectAfter(public val delay: Duration) : Decision() {
        init {
            require(!delay.isNegative()) { "ReconnectAfter.delay must not be negative, was $delay" }
        }

        override fun equals(other: Any?): Boolean = other is ReconnectAfter && other.delay == delay
        override fun hashCode(): Int = delay.hashCode()
        override fun toString(): String = "ReconnectAfter($delay)"
    }

    /** Close the client for good with [code] and [reason]: the terminal state follows. */
    public class Close(public val code: Int = CloseCodes.NORMAL, public val reason: String = "") : Decision() {
        init {
            CloseCodes.requireValid(code, reason)
        }

        override fun equals(other: Any?): Boolean = other is Close && other.code == code && other.reason == reason
        override fun hashCode(): Int = code * 31 + reason.hashCode()
        override fun toString(): String = "Close($code, \"$reason\")"
    }

    /**
     * Stop reconnecting but keep the client: it waits in [ConnectionState.Down] until [Connection.reconnect]
     * or [Connection.close] is called.
     */
    public object StayDown : Decision() {
        override fun toString(): String = "StayDown"
    }

    /**
     * Carry on as if nothing happened. Meaningful for errors that do not end a connection (a hook that threw,
     * a dropped message); for a failure that ended the connection it acts as [Reconnect].
     */
    public object Ignore : Decision() {
        override fun toString(): String = "Ignore"
    }
}
