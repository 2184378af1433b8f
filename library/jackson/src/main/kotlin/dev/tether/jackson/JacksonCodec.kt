package dev.tether.jackson

import com.fasterxml.jackson.core.type.TypeReference
import com.fasterxml.jackson.databind.JavaType
import com.fasterxml.jackson.databind.ObjectMapper
import com.fasterxml.jackson.databind.ObjectReader
import com.fasterxml.jackson.databind.ObjectWriter
import com.fasterxml.jackson.databind.util.ByteBufferBackedInputStream
import dev.tether.Frame
import dev.tether.MessageCodec

/**
 * Typed messages with Jackson: a [MessageCodec] of [T] over your `ObjectMapper`, with its modules and settings.
 *
 * ```java
 * ObjectMapper mapper = new ObjectMapper();
 * JacksonCodec<Quote> quotes = JacksonCodec.json(mapper, Quote.class);
 * conn.send(new Quote("ACME", 12.5), quotes).join();                          // a text frame of JSON
 * Optional<Quote> next = conn.receive(quotes, Duration.ofSeconds(5));         // a message that does not decode
 *                                                                           // is reported to onError and skipped
 * JacksonCodec<List<Quote>> batches = JacksonCodec.json(mapper, new TypeReference<List<Quote>>() { });
 * ```
 *
 * **Frames.** [json] sends text frames (`writeValueAsString`); [binary] sends binary frames (`writeValueAsBytes`),
 * for a binary data format's mapper (Smile, CBOR, MessagePack) or JSON in binary frames. Either decodes both text
 * and binary frames; any other frame fails to decode.
 *
 * **Threading.** Thread-safe: it holds an `ObjectReader` and an `ObjectWriter` made from the mapper when the codec
 * is made, both immutable (configure the mapper before). [encode] runs on the thread that sends, [decode] on the
 * thread that receives (the Java facade's `receive` caller, a Kotlin `decoded` collector); never on Tether's I/O
 * threads.
 *
 * **Limits.** A message is at most `maxMessageSize` bytes before it reaches the codec; Jackson's own
 * `StreamReadConstraints` (nesting depth, number and string lengths) apply on top, as your mapper sets them. A
 * value that does not decode fails with Jackson's exception, which Tether reports as `DecodeFailed` with the frame.
 */
public class JacksonCodec<T> private constructor(
    private val reader: ObjectReader,
    private val writer: ObjectWriter,
    private val binary: Boolean,
    private val type: JavaType,
) : MessageCodec<T> {

    /** A text frame of JSON ([json]) or a binary frame ([binary]) for [value]; throws what Jackson throws. */
    override fun encode(value: T): Frame =
        if (binary) Frame.Binary(writer.writeValueAsBytes(value)) else Frame.Text(writer.writeValueAsString(value))

    /** The value of a text or binary frame; throws what Jackson throws, or IllegalArgumentException for other frames. */
    override fun decode(frame: Frame): T = when (frame) {
        is Frame.Text -> reader.readValue<T>(frame.text)
        is Frame.Binary -> reader.readValue<T>(ByteBufferBackedInputStream(frame.asByteBuffer())) // no copy
        else -> throw IllegalArgumentException("$frame holds no ${type.toCanonical()}")
    }

    override fun toString(): String = "JacksonCodec(${type.toCanonical()}, ${if (binary) "binary" else "text"} frames)"

    public companion object {
        /** A codec of [type] that sends text frames of JSON written by [mapper]. */
        @JvmStatic
        public fun <T> json(mapper: ObjectMapper, type: Class<T>): JacksonCodec<T> = of(mapper, mapper.constructType(type), binary = false)

        /** A codec of a generic [type] (`new TypeReference<List<Quote>>() { }`) that sends text frames. */
        @JvmStatic
        public fun <T> json(mapper: ObjectMapper, type: TypeReference<T>): JacksonCodec<T> = of(mapper, mapper.constructType(type), binary = false)

        /** A codec of [type] that sends binary frames written by [mapper] (a binary format's mapper, or JSON as bytes). */
        @JvmStatic
        public fun <T> binary(mapper: ObjectMapper, type: Class<T>): JacksonCodec<T> = of(mapper, mapper.constructType(type), binary = true)

        /** A codec of a generic [type] that sends binary frames. */
        @JvmStatic
        public fun <T> binary(mapper: ObjectMapper, type: TypeReference<T>): JacksonCodec<T> = of(mapper, mapper.constructType(type), binary = true)

        private fun <T> of(mapper: ObjectMapper, type: JavaType, binary: Boolean): JacksonCodec<T> =
            JacksonCodec(mapper.readerFor(type), mapper.writerFor(type), binary, type)
    }
}
