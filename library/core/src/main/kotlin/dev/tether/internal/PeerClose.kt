package dev.tether.internal

/**
 * An engine session that can tell when the peer has closed the TCP connection (Tether's own). After a protocol error
 * the connection sends its close frame and waits for this (bounded by the close timeout), as RFC 6455 section 7.1.1
 * asks of a client, instead of resetting a socket the server has not finished reading.
 */
internal interface PeerClose {
    suspend fun awaitPeerClose()
}
