package dev.tether.phoenix

import dev.tether.TetherException
import dev.tether.phoenix.internal.KotlinOnly
import kotlin.time.Duration

/**
 * What happens to a Phoenix socket and its channels, in order, as [PhoenixSocket.events] (and, per channel,
 * [PhoenixChannel.events]). Unlike the `state` snapshots, the stream never conflates: every transition is an
 * event. It is bounded ([PhoenixSocket.EVENT_BUFFER] events per collector); a collector that falls further behind
 * loses the newest events and then receives [EventsDropped] with how many it missed, so a gap is never silent.
 * More subtypes may be added in minor releases: keep an `else` branch. Users only receive these.
 *
 * New events may come in a minor release (0.x: any release): keep an `else` branch in a `when` over events.
 */
public sealed class PhoenixEvent {
    /** A connection opened ([attempt]: 0 for the first of a streak). */
    public class Opened internal constructor(
        public val attempt: Int,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : PhoenixEvent() {
        override fun toString(): String = "Opened(attempt=$attempt)"
    }

    /**
     * A connection that was up ended: [code] and [reason] of the close that went over the wire (1006 if none),
     * [byServer], and the error behind it ([cause], null after an orderly close).
     */
    public class Closed internal constructor(
        public val code: Int,
        public val reason: String,
        public val byServer: Boolean,
        public val cause: TetherException?,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : PhoenixEvent() {
        override fun toString(): String = "Closed($code, \"$reason\", byServer=$byServer, cause=${cause?.javaClass?.simpleName})"
    }

    /** A connect attempt failed (refused, TLS, a refused handshake with its status...). */
    public class ConnectFailed internal constructor(
        public val error: TetherException,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : PhoenixEvent() {
        override fun toString(): String = "ConnectFailed($error)"
    }

    /** The socket will connect again after [delay] (attempt [attempt], 1-based). */
    public class ReconnectScheduled internal constructor(
        public val attempt: Int,
        public val delay: Duration,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : PhoenixEvent() {
        override fun toString(): String = "ReconnectScheduled(attempt=$attempt, delay=$delay)"
    }

    /** A non-fatal error: a callback threw, a frame could not be decoded, a message was dropped. The socket goes on. */
    public class Error internal constructor(
        public val error: TetherException,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : PhoenixEvent() {
        override fun toString(): String = "Error($error)"
    }

    /** The socket is closed for good (after [PhoenixSocket.close]). */
    public class Terminated internal constructor(
        public val code: Int,
        public val reason: String,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : PhoenixEvent() {
        override fun toString(): String = "Terminated($code, \"$reason\")"
    }

    /** An event of one channel. */
    public sealed class ChannelEvent : PhoenixEvent() {
        /** The channel's topic. */
        public abstract val topic: String
    }

    /** A join (first or re-join) went on the wire with [joinRef]. */
    public class Joining internal constructor(
        override val topic: String,
        public val joinRef: String,
        public val rejoin: Boolean,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ChannelEvent() {
        override fun toString(): String = "Joining($topic, join_ref=$joinRef, rejoin=$rejoin)"
    }

    /** The server accepted the join [joinRef] with [response]; [rejoin] is false for the first join. */
    public class Joined internal constructor(
        override val topic: String,
        public val joinRef: String,
        public val response: Payload,
        public val rejoin: Boolean,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ChannelEvent() {
        override fun toString(): String = "Joined($topic, join_ref=$joinRef, rejoin=$rejoin, $response)"
    }

    /**
     * The channel errored: [reason] is `"join refused"` (with the server's [reply]), `"join timed out"`, `"crashed"`
     * (`phx_error`) or `"socket closed"`. It rejoins on its schedule.
     */
    public class Errored internal constructor(
        override val topic: String,
        public val reason: String,
        public val reply: Reply?,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ChannelEvent() {
        override fun toString(): String = "Errored($topic, $reason${reply?.let { ", $it" } ?: ""})"
    }

    /** The channel left ([byServer]: the server closed it with `phx_close`); it does not rejoin. */
    public class Left internal constructor(
        override val topic: String,
        public val byServer: Boolean,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ChannelEvent() {
        override fun toString(): String = "Left($topic, byServer=$byServer)"
    }

    /** This collector fell [count] events behind and missed them. */
    public class EventsDropped internal constructor(
        public val count: Long,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : PhoenixEvent() {
        override fun toString(): String = "EventsDropped($count)"
    }
}
