package dev.tether.java

import dev.tether.TetherException
import dev.tether.java.internal.KotlinOnly
import dev.tether.phoenix.PhoenixEvent
import kotlin.time.toJavaDuration

/**
 * One event of a Phoenix socket or channel, for Java (see `PhoenixEvent` for the meaning of each [kind]). Only the
 * fields of its kind are set; the others are null or 0. Immutable; users only receive these.
 */
public class PhoenixEventInfo internal constructor(
    /** What happened. */
    public val kind: Kind,
    /** The channel's topic (channel events), or null. */
    public val topic: String?,
    /** The attempt (OPENED, RECONNECT_SCHEDULED), or 0. */
    public val attempt: Int,
    /** The delay before the next attempt (RECONNECT_SCHEDULED), or null. */
    public val delay: java.time.Duration?,
    /** The close code (CLOSED, TERMINATED), or 0. */
    public val code: Int,
    /** The close reason (CLOSED, TERMINATED) or why a channel errored (ERRORED), or null. */
    public val reason: String?,
    /** Whether the server ended it (CLOSED, LEFT). */
    public val byServer: Boolean,
    /** The error (CONNECT_FAILED, ERROR; the cause of CLOSED), or null. */
    public val error: TetherException?,
    /** The join reference (JOINING, JOINED), or null. */
    public val joinRef: String?,
    /** True for a rejoin (JOINING, JOINED). */
    public val rejoin: Boolean,
    /** The join's reply (JOINED; ERRORED after a refused or timed-out join), or null. */
    public val reply: PhoenixReply?,
    /** How many events this listener missed (EVENTS_DROPPED), or 0. */
    public val dropped: Long,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    /** The kinds of events, socket first, then channel. */
    public enum class Kind {
        OPENED, CLOSED, CONNECT_FAILED, RECONNECT_SCHEDULED, ERROR, TERMINATED,
        JOINING, JOINED, ERRORED, LEFT, EVENTS_DROPPED,
    }

    override fun toString(): String = "PhoenixEventInfo($kind${topic?.let { " $it" } ?: ""}" +
        (if (code != 0) " $code" else "") + (reason?.let { " \"$it\"" } ?: "") + (error?.let { " $it" } ?: "") + ")"

}

/** Receives a Phoenix socket's events, in order, on the callback executor. */
public fun interface PhoenixEventListener {
    public fun onEvent(event: PhoenixEventInfo)
}
