package dev.tether

import dev.tether.internal.RealConnection
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

/**
 * Sends [value] encoded by [codec]; suspends like [Connection.send].
 * @throws TetherException.EncodeFailed if [codec] refused the value (nothing is sent).
 */
public suspend fun <T> Connection.send(value: T, codec: MessageCodec<T>) {
    send(encode(value, codec))
}

/** Sends [value] encoded by [codec] from a hook, like [HookScope.send]. */
public suspend fun <T> HookScope.send(value: T, codec: MessageCodec<T>) {
    send(encode(value, codec))
}

/**
 * The messages of [Connection.incoming] decoded by [codec], in order (single consumer, like `incoming`). A message
 * that does not decode is reported to `onError` as [TetherException.DecodeFailed] with the raw frame, logged, and
 * skipped: the connection stays up and the flow goes on.
 */
public fun <T> Connection.decoded(codec: MessageCodec<T>): Flow<T> = flow {
    for (frame in incoming) {
        val value = decodeOrReport(this@decoded, frame, codec) ?: continue
        emit(value.value)
    }
}

/**
 * The next message of [Connection.incoming] that [codec] decodes (those that do not are reported and skipped, as in
 * [decoded]).
 * @throws kotlinx.coroutines.channels.ClosedReceiveChannelException once the connection has closed.
 */
public suspend fun <T> Connection.receive(codec: MessageCodec<T>): T {
    while (true) {
        val frame = incoming.receive()
        decodeOrReport(this, frame, codec)?.let { return it.value }
    }
}

private class Decoded<T>(val value: T)

@OptIn(dev.tether.engine.TetherEngineApi::class)
private fun <T> decodeOrReport(connection: Connection, frame: Frame, codec: MessageCodec<T>): Decoded<T>? =
    try {
        Decoded(codec.decode(frame))
    } catch (e: kotlinx.coroutines.CancellationException) {
        throw e
    } catch (e: Exception) {
        val error = TetherException.DecodeFailed("$frame did not decode: ${e.message}", e, frame)
        (connection as? RealConnection)?.reportDecodeFailure(error)
        null
    }

@OptIn(dev.tether.engine.TetherEngineApi::class)
private fun <T> encode(value: T, codec: MessageCodec<T>): Frame =
    try {
        codec.encode(value)
    } catch (e: kotlinx.coroutines.CancellationException) {
        throw e
    } catch (e: Exception) {
        throw TetherException.EncodeFailed("the codec refused the value: ${e.message}", e)
    }
