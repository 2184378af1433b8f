package dev.tether.testing

import dev.tether.ConnectContext
import dev.tether.ConnectRequest
import dev.tether.ConnectionState
import dev.tether.Disconnect
import dev.tether.Handshake
import dev.tether.PauseReason
import dev.tether.TetherException
import kotlin.time.Duration

/**
 * Builds the values Tether hands to hooks and collectors, for your tests (e.g. of an `onDisconnect` policy or a
 * state renderer). Every value is what Tether itself would make. Opt in with `@OptIn(TetherTestApi::class)`. For
 * exceptions, their constructors are behind `@TetherEngineApi`; or drive a real connection against the test kit.
 */
@TetherTestApi
public object TestValues {
    /** The handshake of a connection to [url] (status 101 unless given). */
    @JvmStatic
    @JvmOverloads
    public fun handshake(
        url: String,
        subprotocol: String? = null,
        headers: Map<String, List<String>> = emptyMap(),
        status: Int = 101,
        tlsProtocol: String? = null,
    ): Handshake = @OptIn(dev.tether.engine.TetherEngineApi::class) Handshake(url, status, headers, subprotocol, tlsProtocol)

    /** How a connection ended. */
    @JvmStatic
    @JvmOverloads
    public fun disconnect(
        code: Int,
        reason: String = "",
        byServer: Boolean = true,
        cause: TetherException? = null,
        uptime: Duration = Duration.ZERO,
    ): Disconnect = Disconnect(code, reason, byServer, cause, uptime)

    /** What `connectWith { }` receives for [attempt]. */
    @JvmStatic
    public fun connectContext(attempt: Int, defaults: ConnectRequest): ConnectContext = ConnectContext(attempt, defaults)

    /** [ConnectionState.Connecting]. */
    @JvmStatic
    public fun connecting(attempt: Int): ConnectionState.Connecting = ConnectionState.Connecting(attempt)

    /** [ConnectionState.Connected]. */
    @JvmStatic
    public fun connected(attempt: Int, handshake: Handshake): ConnectionState.Connected = ConnectionState.Connected(attempt, handshake)

    /** [ConnectionState.Reconnecting]. */
    @JvmStatic
    public fun reconnecting(attempt: Int, delay: Duration, cause: TetherException?, disconnect: Disconnect?): ConnectionState.Reconnecting =
        ConnectionState.Reconnecting(attempt, delay, cause, disconnect)

    /** [ConnectionState.Down]. */
    @JvmStatic
    public fun down(cause: TetherException?, disconnect: Disconnect?): ConnectionState.Down = ConnectionState.Down(cause, disconnect)

    /** [ConnectionState.Paused]. */
    @JvmStatic
    public fun paused(reason: PauseReason): ConnectionState.Paused = ConnectionState.Paused(reason)

    /** [ConnectionState.Closing]. */
    @JvmStatic
    public fun closing(code: Int, reason: String = ""): ConnectionState.Closing = ConnectionState.Closing(code, reason)

    /** [ConnectionState.Closed]. */
    @JvmStatic
    @JvmOverloads
    public fun closed(code: Int, reason: String = "", cause: TetherException? = null): ConnectionState.Closed =
        ConnectionState.Closed(code, reason, cause)
}
