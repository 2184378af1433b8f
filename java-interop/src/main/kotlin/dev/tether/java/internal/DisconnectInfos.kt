package dev.tether.java.internal

import dev.tether.ConnectionState
import dev.tether.Disconnect
import dev.tether.TetherException
import dev.tether.java.DisconnectInfo
import kotlin.time.toJavaDuration

/** Makes [DisconnectInfo]s (Kotlin only: the class has no companion that Java could reach). */
internal object DisconnectInfos {
    @JvmSynthetic
    fun of(d: Disconnect) = DisconnectInfo(d.code, d.reason, d.byServer, d.cause, d.uptime.toJavaDuration())
}
