package dev.tether.java

import dev.tether.java.internal.KotlinOnly

/**
 * Thrown by [TetherConnection.receive] once the connection is closed and every message it received has been
 * taken: the end of the stream, as opposed to a time-out (an empty result). [status] is the terminal state.
 */
public class ConnectionClosedException internal constructor(
    /** The terminal state. */
    public val status: ConnectionStatus,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) : IllegalStateException("the connection is closed: $status")
