package dev.tether.engine

import dev.tether.ConnectRequest
import kotlinx.coroutines.CoroutineScope

/**
 * Opens WebSocket connections for one Tether connection. Frames cross this seam unreassembled, with their RSV bits;
 * Tether's protocol engine above it answers pings, runs the closing handshake, reassembles messages and enforces
 * RFC 6455. An engine owns TCP, TLS, the HTTP upgrade and framing.
 *
 * Threading: [open] is called from the connection's supervisor coroutine, one attempt at a time; [close] once, when
 * the connection ends.
 */
@TetherEngineApi
public interface WebSocketEngine {
    /**
     * Opens one connection for [request]. Throws [dev.tether.TetherException.ConnectFailed] or
     * [dev.tether.TetherException.HandshakeFailed]; cancellation must release the socket. Any coroutine the session
     * needs runs as a child of [scope].
     */
    public suspend fun open(request: ConnectRequest, scope: CoroutineScope): EngineSession

    /** Releases what the engine holds. Idempotent. */
    public fun close()
}

/** Makes a [WebSocketEngine] for each connection a client starts, from the client's [EngineSettings]. */
@TetherEngineApi
public fun interface EngineFactory {
    /** A new engine for one connection. */
    public fun create(settings: EngineSettings): WebSocketEngine
}
