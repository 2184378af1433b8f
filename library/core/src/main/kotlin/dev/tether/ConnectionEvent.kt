package dev.tether

import dev.tether.TetherException.SendFailure
import dev.tether.internal.KotlinOnly
import kotlin.time.Duration

/**
 * What happens to a connection, in order, as [Connection.events] tells it: every transition (no conflation, unlike
 * [Connection.state]), every connect failure, frames both ways, pong round trips and failed sends. Values Tether
 * makes; each carries the [connectionId] it is about.
 *
 * New events may come in a minor release (0.x: any release): keep an `else` branch in a `when` over events.
 */
public sealed class ConnectionEvent {
    /** The [Connection.id] of the connection this happened to. */
    public abstract val connectionId: String

    /** Connecting, attempt [attempt] (0 for the first). */
    public class Connecting internal constructor(
        override val connectionId: String,
        public val attempt: Int,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "Connecting(attempt=$attempt)"
    }

    /** Connected on attempt [attempt], with the server's [handshake]. */
    public class Connected internal constructor(
        override val connectionId: String,
        public val attempt: Int,
        public val handshake: Handshake,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "Connected(attempt=$attempt, subprotocol=${handshake.subprotocol})"
    }

    /** Attempt [attempt] failed before the connection was up (refused, unreachable, timed out). */
    public class ConnectFailed internal constructor(
        override val connectionId: String,
        public val attempt: Int,
        public val error: TetherException,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "ConnectFailed(attempt=$attempt, ${error.javaClass.simpleName}: ${error.message})"
    }

    /** A connection that was up ended: its close code, reason, cause and uptime are in [disconnect]. */
    public class Disconnected internal constructor(
        override val connectionId: String,
        public val disconnect: Disconnect,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "Disconnected($disconnect)"
    }

    /** The next attempt, [attempt], starts after [delay]. */
    public class ReconnectScheduled internal constructor(
        override val connectionId: String,
        public val attempt: Int,
        public val delay: Duration,
        public val cause: TetherException?,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "ReconnectScheduled(attempt=$attempt, delay=$delay)"
    }

    /** Paused (gate, `pause()`, idle close) until released. */
    public class Paused internal constructor(
        override val connectionId: String,
        public val reason: PauseReason,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "Paused($reason)"
    }

    /** Down: not reconnecting until `reconnect()` or `close()`. */
    public class Down internal constructor(
        override val connectionId: String,
        public val cause: TetherException?,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "Down(${cause?.javaClass?.simpleName})"
    }

    /** The closing handshake started with [code] and [reason]. */
    public class Closing internal constructor(
        override val connectionId: String,
        public val code: Int,
        public val reason: String,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "Closing($code, \"$reason\")"
    }

    /** Closed for good: the last event of a connection. */
    public class Closed internal constructor(
        override val connectionId: String,
        public val code: Int,
        public val reason: String,
        public val cause: TetherException?,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "Closed($code, \"$reason\", cause=${cause?.javaClass?.simpleName})"
    }

    /** A frame arrived: its [kind] and payload [size] in bytes (one frame, not a whole message). */
    public class FrameIn internal constructor(
        override val connectionId: String,
        public val kind: FrameKind,
        public val size: Int,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "FrameIn($kind, $size B)"
    }

    /** A frame was handed to the socket: its [kind] and payload [size] in bytes. */
    public class FrameOut internal constructor(
        override val connectionId: String,
        public val kind: FrameKind,
        public val size: Int,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "FrameOut($kind, $size B)"
    }

    /** A pong arrived; [rtt] is the round trip of Tether's keepalive ping it answers, or null for another pong. */
    public class Pong internal constructor(
        override val connectionId: String,
        public val rtt: Duration?,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "Pong(rtt=$rtt)"
    }

    /** A send failed with [reason] (its sender was told too). */
    public class SendFailed internal constructor(
        override val connectionId: String,
        public val reason: SendFailure,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "SendFailed($reason)"
    }

    /**
     * The outbox (frames queued and not yet written) rose to [depth]: half the outgoing buffer's [capacity], all of
     * it, or twice it (frames waiting in line for room); or fell back to 0 after that. Sends are outpacing the
     * network or the connection is down.
     */
    public class OutboxDepth internal constructor(
        override val connectionId: String,
        public val depth: Int,
        public val capacity: Int,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "OutboxDepth($depth of $capacity)"
    }

    /**
     * A collector fell more than [Connection.EVENT_BUFFER] events behind and missed [count] of them; it gets this
     * before the next event it does receive.
     */
    public class EventsDropped internal constructor(
        override val connectionId: String,
        public val count: Long,
        kotlinOnly: KotlinOnly = KotlinOnly(),
    ) : ConnectionEvent() {
        override fun toString(): String = "EventsDropped($count)"
    }
}

/** The kind of a frame in [ConnectionEvent.FrameIn] and [ConnectionEvent.FrameOut]. */
public enum class FrameKind { TEXT, BINARY, CONTINUATION, CLOSE, PING, PONG }
