package dev.tether.serialization

import dev.tether.Connection
import dev.tether.HookScope
import dev.tether.decoded
import dev.tether.receive
import dev.tether.send
import kotlinx.coroutines.flow.Flow
import kotlinx.serialization.BinaryFormat
import kotlinx.serialization.KSerializer
import kotlinx.serialization.StringFormat
import kotlinx.serialization.json.Json
import kotlinx.serialization.serializer

/** Sends [value] as [format] (JSON by default) in a text message; suspends like [Connection.send]. */
public suspend fun <T> Connection.sendSerialized(value: T, serializer: KSerializer<T>, format: StringFormat = Json): Unit =
    send(value, KotlinxCodecs.text(serializer, format))

/** Sends [value] as [format] (CBOR, ProtoBuf) in a binary message. */
public suspend fun <T> Connection.sendSerialized(value: T, serializer: KSerializer<T>, format: BinaryFormat): Unit =
    send(value, KotlinxCodecs.binary(serializer, format))

/** Sends [value] as [format] from a hook (see [HookScope.send]: from `onConnect`, it goes first). */
public suspend fun <T> HookScope.sendSerialized(value: T, serializer: KSerializer<T>, format: StringFormat = Json): Unit =
    send(value, KotlinxCodecs.text(serializer, format))

/** Sends [value] as [format] (CBOR, ProtoBuf) in a binary message from a hook. */
public suspend fun <T> HookScope.sendSerialized(value: T, serializer: KSerializer<T>, format: BinaryFormat): Unit =
    send(value, KotlinxCodecs.binary(serializer, format))

/**
 * The next message that decodes as [format]; those that do not are reported to `onError` as `DecodeFailed` with
 * the raw frame and skipped (the connection stays up).
 */
public suspend fun <T> Connection.receiveDeserialized(deserializer: KSerializer<T>, format: StringFormat = Json): T =
    receive(KotlinxCodecs.text(deserializer, format))

/** The next binary message that decodes as [format] (see the string-format overload). */
public suspend fun <T> Connection.receiveDeserialized(deserializer: KSerializer<T>, format: BinaryFormat): T =
    receive(KotlinxCodecs.binary(deserializer, format))

/** The messages, decoded as [format], in order; those that do not decode are reported and skipped. Single consumer. */
public fun <T> Connection.deserialized(deserializer: KSerializer<T>, format: StringFormat = Json): Flow<T> =
    decoded(KotlinxCodecs.text(deserializer, format))

/** The binary messages, decoded as [format] (see the string-format overload). */
public fun <T> Connection.deserialized(deserializer: KSerializer<T>, format: BinaryFormat): Flow<T> =
    decoded(KotlinxCodecs.binary(deserializer, format))

/** [sendSerialized] for a `@Serializable` [T]. */
public suspend inline fun <reified T> Connection.sendSerialized(value: T, format: StringFormat = Json): Unit =
    sendSerialized(value, serializer<T>(), format)

/** [sendSerialized] for a `@Serializable` [T], from a hook: `onConnect { sendSerialized(Subscribe("prices")) }`. */
public suspend inline fun <reified T> HookScope.sendSerialized(value: T, format: StringFormat = Json): Unit =
    sendSerialized(value, serializer<T>(), format)

/** [sendSerialized] for a `@Serializable` [T], as [format] (CBOR, ProtoBuf) in a binary message. */
public suspend inline fun <reified T> Connection.sendSerialized(value: T, format: BinaryFormat): Unit =
    sendSerialized(value, serializer<T>(), format)

/** [sendSerialized] for a `@Serializable` [T] from a hook, as [format] in a binary message. */
public suspend inline fun <reified T> HookScope.sendSerialized(value: T, format: BinaryFormat): Unit =
    sendSerialized(value, serializer<T>(), format)

/** [receiveDeserialized] for a `@Serializable` [T]. */
public suspend inline fun <reified T> Connection.receiveDeserialized(format: StringFormat = Json): T =
    receiveDeserialized(serializer<T>(), format)

/** [deserialized] for a `@Serializable` [T]. */
public inline fun <reified T> Connection.deserialized(format: StringFormat = Json): Flow<T> = deserialized(serializer<T>(), format)
