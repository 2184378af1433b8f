package dev.tether.java

import kotlin.time.toKotlinDuration
import dev.tether.Decision as CoreDecision

/**
 * What an [ErrorHandler] or [DisconnectHandler] returns: what the connection does next. Immutable.
 */
public class ConnectionDecision private constructor(@get:JvmSynthetic internal val core: CoreDecision) {
    override fun toString(): String = core.toString()
    override fun equals(other: Any?): Boolean = other is ConnectionDecision && other.core == core
    override fun hashCode(): Int = core.hashCode()

    public companion object {
        /** Reconnect after the backoff delay. */
        @JvmStatic
        public fun reconnect(): ConnectionDecision = ConnectionDecision(CoreDecision.Reconnect)

        /** Reconnect after exactly [delay]. */
        @JvmStatic
        public fun reconnectAfter(delay: java.time.Duration): ConnectionDecision = ConnectionDecision(CoreDecision.ReconnectAfter(delay.toKotlinDuration()))

        /** Close for good with [code] and [reason]. @throws IllegalArgumentException for an invalid code or reason. */
        @JvmStatic
        public fun close(code: Int, reason: String): ConnectionDecision = ConnectionDecision(CoreDecision.Close(code, reason))

        /** Stop reconnecting until [TetherConnection.reconnect] or a close. */
        @JvmStatic
        public fun stayDown(): ConnectionDecision = ConnectionDecision(CoreDecision.StayDown)

        /** Carry on (for errors that did not end the connection). */
        @JvmStatic
        public fun ignore(): ConnectionDecision = ConnectionDecision(CoreDecision.Ignore)

        @JvmSynthetic
        internal fun of(core: CoreDecision): ConnectionDecision = ConnectionDecision(core)
    }
}
