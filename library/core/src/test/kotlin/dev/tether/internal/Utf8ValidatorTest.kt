package dev.tether.internal

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.nio.ByteBuffer
import java.nio.charset.CharacterCodingException
import java.nio.charset.CodingErrorAction
import kotlin.random.Random

/** The JDK's strict decoder: the reference the validator must agree with. */
private fun jdkValid(bytes: ByteArray): Boolean = try {
    Charsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes))
    true
} catch (e: CharacterCodingException) {
    false
}

/** Mostly ASCII runs and real characters, with an occasional random byte: valid and invalid inputs alike. */
private fun sample(r: Random): ByteArray {
    val sb = java.io.ByteArrayOutputStream()
    repeat(r.nextInt(1, 12)) {
        when (r.nextInt(6)) {
            0 -> sb.write(ByteArray(r.nextInt(0, 20)) { 'a'.code.toByte() })
            1 -> sb.write("é€😀中".toByteArray())
            2 -> sb.write(r.nextInt(256))
            3 -> sb.write(byteArrayOf(0xED.toByte(), 0xA0.toByte(), 0x80.toByte())) // a surrogate: invalid
            4 -> sb.write(byteArrayOf(0xC0.toByte(), 0xAF.toByte())) // overlong: invalid
            else -> sb.write("x".repeat(r.nextInt(0, 9)).toByteArray())
        }
    }
    return sb.toByteArray()
}

class Utf8ValidatorTest : FunSpec({

    test("agrees with the JDK's strict decoder on 20 000 inputs, fed whole and split at any point") {
        val r = Random(42)
        repeat(20_000) {
            val bytes = sample(r)
            val expected = jdkValid(bytes)
            Utf8Validator.isValid(bytes) shouldBe expected
            val cut = if (bytes.isEmpty()) 0 else r.nextInt(bytes.size + 1)
            val v = Utf8Validator()
            val split = v.feed(bytes, 0, cut) && v.feed(bytes, cut, bytes.size) && v.isComplete
            split shouldBe expected
        }
    }

    test("ASCII after an unfinished sequence is rejected, not skipped") {
        val v = Utf8Validator()
        v.feed(byteArrayOf(0xE2.toByte())) shouldBe true
        v.feed("abc".toByteArray()) shouldBe false
    }
})
