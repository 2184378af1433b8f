package dev.tether.phoenix

import dev.tether.phoenix.internal.KotlinOnly

/** The answer to a join, a leave or a push. Immutable.
 *
 * Closed: no new subtypes will be added, so a `when` over replies may be exhaustive.
 */
public sealed class Reply {
    /** The server answered `{:ok, response}`. */
    public class Ok(public val response: Payload) : Reply() {
        override fun equals(other: Any?): Boolean = other is Ok && other.response == response
        override fun hashCode(): Int = response.hashCode()
        override fun toString(): String = "Ok($response)"
    }

    /** The server answered `{:error, response}` (for a join: the reason it was refused). */
    public class Error(public val response: Payload) : Reply() {
        override fun equals(other: Any?): Boolean = other is Error && other.response == response
        override fun hashCode(): Int = response.hashCode() + 1
        override fun toString(): String = "Error($response)"
    }

    /** No reply arrived within the timeout. */
    public object Timeout : Reply() {
        override fun toString(): String = "Timeout"
    }

    /**
     * The push was not sent, or could not be written, and the caller learns it at once: [cause] says why
     * (`SendFailed` with `BUFFER_FULL` when more pushes wait than the socket allows, `CLOSED` once the socket is
     * closed, `CONNECTION_LOST` when the connection died before the frame was written).
     */
    public class Failed internal constructor(
        public val cause: dev.tether.TetherException,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : Reply() {
        override fun toString(): String = "Failed(${cause.message})"
    }
}

/** The state of a channel, as phoenix.js names them. */
public enum class ChannelState {
    /** Not joined (before [PhoenixChannel.join], after a leave or a server-side close). */
    CLOSED,

    /** A join is on the wire. */
    JOINING,

    /** Joined: pushes go out at once. */
    JOINED,

    /** The channel crashed, the join failed or timed out, or the socket dropped: a rejoin is scheduled. */
    ERRORED,

    /** A leave is on the wire. */
    LEAVING,
}

/** Thrown by the `await…` functions when their timeout elapses. */
public class PhoenixTimeoutException(message: String) : Exception(message)

/** Thrown by [Push.awaitOk] when the reply is not `ok`: [reply] is what came instead. */
public class PhoenixReplyException internal constructor(
    public val reply: Reply,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) : Exception("the reply was not ok: $reply")
