package dev.tether.java.internal

import dev.tether.ConnectionState
import dev.tether.Disconnect
import dev.tether.TetherException
import dev.tether.java.ConnectionStatus
import dev.tether.java.ConnectionStatus.Kind
import dev.tether.java.DisconnectInfo
import kotlin.time.toJavaDuration

/** Makes [ConnectionStatus]s (Kotlin only: the class has no companion that Java could reach). */
internal object ConnectionStatuses {
    @JvmSynthetic
    fun of(s: ConnectionState): ConnectionStatus = when (s) {
        is ConnectionState.Connecting -> make(Kind.CONNECTING, attempt = s.attempt)
        is ConnectionState.Connected -> make(
            Kind.CONNECTED, attempt = s.attempt, status = s.handshake.status, headers = s.handshake.headers,
            subprotocol = s.handshake.subprotocol,
        )
        is ConnectionState.Reconnecting -> make(
            Kind.RECONNECTING, attempt = s.attempt, delay = s.delay.toJavaDuration(), cause = s.cause,
            disconnect = s.disconnect?.let { DisconnectInfos.of(it) },
        )
        is ConnectionState.Down -> make(Kind.DOWN, cause = s.cause, disconnect = s.disconnect?.let { DisconnectInfos.of(it) })
        is ConnectionState.Paused -> make(Kind.PAUSED, reason = s.reason.name)
        is ConnectionState.Closing -> make(Kind.CLOSING, code = s.code, reason = s.reason)
        is ConnectionState.Closed -> make(Kind.CLOSED, code = s.code, reason = s.reason, cause = s.cause)
    }

    /** Before `connect()`: [Kind.NOT_STARTED]. */
    @JvmSynthetic
    fun notStarted(): ConnectionStatus = make(Kind.NOT_STARTED)

    private fun make(
        kind: Kind,
        attempt: Int = 0,
        delay: java.time.Duration? = null,
        cause: TetherException? = null,
        disconnect: DisconnectInfo? = null,
        code: Int = 0,
        reason: String = "",
        status: Int = 0,
        headers: Map<String, List<String>> = emptyMap(),
        subprotocol: String? = null,
    ) = ConnectionStatus(kind, attempt, delay, cause, disconnect, code, reason, status, headers, subprotocol)
}
