package dev.tether.java.internal

import dev.tether.java.PhoenixMessage
import dev.tether.phoenix.Message
import dev.tether.phoenix.Payload
import dev.tether.phoenix.Reply

/** Makes [PhoenixMessage]s (Kotlin only: the class has no companion that Java could reach). */
internal object PhoenixMessages {
    @JvmSynthetic
    fun of(m: Message): PhoenixMessage = when (val p = m.payload) {
        is Payload.Json -> PhoenixMessage(m.topic, m.event, p.json.toString(), null)
        is Payload.Binary -> PhoenixMessage(m.topic, m.event, null, p.bytes)
    }
}
