package dev.tether

/**
 * Turns values of type [T] into messages and back: the seam for typed messages (`tether-serialization` has
 * kotlinx.serialization codecs; Java users wrap Jackson, Gson or any mapper). Implementations must be thread-safe.
 * See [send], [decoded] and [receive].
 */
public interface MessageCodec<T> {
    /** The message for [value] (a [Frame.Text] or a [Frame.Binary]). Throw to refuse; the send fails with it. */
    public fun encode(value: T): Frame

    /** The value [frame] holds. Throw when it does not fit: the message is reported and skipped. */
    public fun decode(frame: Frame): T
}
