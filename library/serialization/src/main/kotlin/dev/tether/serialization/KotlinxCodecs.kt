package dev.tether.serialization

import dev.tether.Frame
import dev.tether.MessageCodec
import kotlinx.serialization.BinaryFormat
import kotlinx.serialization.KSerializer
import kotlinx.serialization.StringFormat
import kotlinx.serialization.json.Json

/** [MessageCodec]s on kotlinx.serialization: text frames for string formats (JSON), binary frames for binary ones. */
public object KotlinxCodecs {
    /** JSON in text frames, with [json]'s configuration (default: `Json`). */
    public fun <T> json(serializer: KSerializer<T>, json: Json = Json): MessageCodec<T> = text(serializer, json)

    /** Any string format (JSON, or one of your own) in text frames. */
    public fun <T> text(serializer: KSerializer<T>, format: StringFormat): MessageCodec<T> = object : MessageCodec<T> {
        override fun encode(value: T): Frame = Frame.Text(format.encodeToString(serializer, value))

        override fun decode(frame: Frame): T = when (frame) {
            is Frame.Text -> format.decodeFromString(serializer, frame.text)
            else -> throw IllegalArgumentException("expected a text message, got $frame")
        }

        override fun toString(): String = "KotlinxCodecs.text(${serializer.descriptor.serialName})"
    }

    /** Any binary format (CBOR, ProtoBuf: add its kotlinx-serialization artifact) in binary frames. */
    public fun <T> binary(serializer: KSerializer<T>, format: BinaryFormat): MessageCodec<T> = object : MessageCodec<T> {
        override fun encode(value: T): Frame = Frame.Binary(format.encodeToByteArray(serializer, value))

        override fun decode(frame: Frame): T = when (frame) {
            is Frame.Binary -> format.decodeFromByteArray(serializer, frame.toByteArray())
            else -> throw IllegalArgumentException("expected a binary message, got $frame")
        }

        override fun toString(): String = "KotlinxCodecs.binary(${serializer.descriptor.serialName})"
    }
}
