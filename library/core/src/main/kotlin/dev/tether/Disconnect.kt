package dev.tether

import dev.tether.internal.KotlinOnly
import kotlin.time.Duration

/**
 * How one connection ended: handed to the `onDisconnect` hook and carried by [ConnectionState.Reconnecting].
 *
 * @property code the close code that was really sent or received; 1006 ([CloseCodes.ABNORMAL]) when the
 *   connection ended without a close frame (lost, dead link).
 * @property reason the close reason, or a short description when there was no close frame.
 * @property byServer true if the server started the close (or the link failed), false if Tether did
 *   (a protocol violation by the server, a hook decision, a call to close).
 * @property cause the error that ended the connection, or null for an orderly close frame from the server.
 * @property uptime how long the connection was up.
 */
public class Disconnect internal constructor(
    public val code: Int,
    public val reason: String,
    public val byServer: Boolean,
    public val cause: TetherException?,
    public val uptime: Duration,
    kotlinOnly: KotlinOnly = KotlinOnly(),
) {
    override fun toString(): String =
        "Disconnect(code=$code, reason=\"$reason\", byServer=$byServer, cause=${cause?.javaClass?.simpleName}, uptime=$uptime)"
}
