package dev.tether.java

import dev.tether.ConnectRequest
import dev.tether.TetherException
import java.util.concurrent.CompletionStage

/** Decides what follows an error outside a running connection (connect failed, a listener threw…). */
public fun interface ErrorHandler {
    /** Runs on the callback executor; [attempt] is 0 for the first connection, then the reconnect attempt. */
    public fun onError(error: TetherException, attempt: Int): ConnectionDecision
}

/** Decides what follows when a connection that was up ends. */
public fun interface DisconnectHandler {
    /** Runs on the callback executor. */
    public fun onDisconnect(disconnect: DisconnectInfo, attempt: Int): ConnectionDecision
}

/**
 * Provides the URL, headers and subprotocols for each attempt, possibly asynchronously (e.g. while a token
 * refreshes). `defaults` holds the builder's values.
 */
public fun interface ConnectProvider {
    public fun provide(attempt: Int, defaults: ConnectRequest): CompletionStage<ConnectRequest>
}
