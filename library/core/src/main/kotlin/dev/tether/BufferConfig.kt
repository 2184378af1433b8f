package dev.tether

/**
 * What a full buffer does with one more frame.
 *
 * Whatever the policy, nothing is dropped silently: a dropped outgoing frame fails its [Connection.send] (or, for
 * frames put on [Connection.outgoing], is reported to `onError` as [TetherException.SendFailed]); a dropped
 * incoming message is reported to `onError` as [TetherException.MessageDropped].
 */
public enum class OverflowPolicy {
    /** The producer waits (outgoing: the sender suspends; incoming: Tether stops reading the socket). */
    SUSPEND,

    /** Outgoing only: [Connection.send] fails at once with [TetherException.SendFailure.BUFFER_FULL]. */
    FAIL,

    /** The oldest buffered frame is dropped to make room. */
    DROP_OLDEST,

    /** The new frame is dropped. */
    DROP_NEWEST,
}

/** The capacity and overflow policy of one frame buffer. Immutable. */
public class BufferConfig(public val capacity: Int, public val overflow: OverflowPolicy) {
    override fun toString(): String = "BufferConfig(capacity=$capacity, overflow=$overflow)"
}

/** What [Connection.send] does while the client is not connected. */
public enum class OfflinePolicy {
    /** Keep frames in the outgoing buffer and write them, in order, once connected again (default). */
    QUEUE,

    /** Fail [Connection.send] at once with [TetherException.SendFailure.NOT_CONNECTED]. */
    REJECT,
}
