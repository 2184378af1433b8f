package dev.tether.java

import dev.tether.TetherException

/**
 * Receives a connection's events. Every method has a no-op default: override what you need. Methods run one at a
 * time, in event order, on the callback executor chosen in the builder (never on an I/O thread); [onTerminate]
 * comes last. A method that throws never harms the connection: it is logged and reported to [onError] as
 * [TetherException.HandlerFailed] (for [onOpen], [onText], [onBinary], [onPing] and [onPong] the [ErrorHandler]
 * also decides, by default to carry on); a throw from [onError] itself is only logged.
 *
 * Events are queued and run in batches: one executor task runs every event queued so far. A slow listener pushes
 * back: once the incoming buffer's worth of messages waits, the socket reader's read-ahead fills, then reading
 * pauses (pings and the close handshake are still handled while the read-ahead has room). Frames sent from [onOpen]
 * go before anything queued earlier.
 *
 * When [onText] or [onBinary] is overridden, messages go here; otherwise they go to
 * [TetherConnection.receive] and [TetherConnection.frames]. Closing from a listener method is fine: the blocking
 * [TetherConnection.close] asks for the close and returns at once there.
 */
public interface Listener {
    /** The connection opened (after every successful handshake); [status] has the handshake's data. */
    public fun onOpen(connection: TetherConnection, status: ConnectionStatus) {}

    /** A text message arrived. */
    public fun onText(connection: TetherConnection, text: String) {}

    /** A binary message arrived (an array of your own). */
    public fun onBinary(connection: TetherConnection, bytes: ByteArray) {}

    /** A ping arrived (Tether has answered it). */
    public fun onPing(connection: TetherConnection, payload: ByteArray) {}

    /** A pong arrived; [roundTrip] is set when it answers one of Tether's keepalive pings, else null. */
    public fun onPong(connection: TetherConnection, payload: ByteArray, roundTrip: java.time.Duration?) {}

    /** The state changed. */
    public fun onStateChange(connection: TetherConnection, status: ConnectionStatus) {}

    /** An error happened (decided by the [ErrorHandler]; this is for observation). */
    public fun onError(connection: TetherConnection, error: TetherException) {}

    /** A connection that was up ended. */
    public fun onDisconnect(connection: TetherConnection, disconnect: DisconnectInfo) {}

    /** The connection is closed for good; called exactly once, last. */
    public fun onTerminate(connection: TetherConnection, status: ConnectionStatus) {}
}
