package dev.tether.phoenix.internal

import com.code_intelligence.jazzer.api.FuzzedDataProvider
import com.code_intelligence.jazzer.junit.FuzzTest
import kotlinx.serialization.json.Json

/**
 * Coverage-guided fuzz targets (Jazzer) for Phoenix's V2 serializer, which reads every frame the server sends. The
 * router turns any `Exception` from it into a reported `DecodeFailed` and goes on; these targets hold it to
 * `IllegalArgumentException` (kotlinx.serialization's `SerializationException` is one): no `Error`, no other kind,
 * so a hostile or broken server cannot kill the router. Seeds and findings replay in `mvn verify`
 * (`src/test/resources/dev/tether/phoenix/internal/SerializerFuzzTestInputs/<target>`); `JAZZER_FUZZ=1` fuzzes
 * (docs/testing.md).
 */
class SerializerFuzzTest {
    @FuzzTest(maxDuration = "30s")
    fun decodeText(data: FuzzedDataProvider) {
        val text = data.consumeRemainingAsString()
        try {
            Serializer.decodeText(text, JSON)
        } catch (e: IllegalArgumentException) {
            // documented: not a Phoenix V2 message
        }
    }

    @FuzzTest(maxDuration = "30s")
    fun decodeBinary(data: FuzzedDataProvider) {
        val bytes = data.consumeRemainingAsBytes()
        try {
            val inbound = Serializer.decodeBinary(bytes)
            check(inbound.message.event.length <= 255) { "an event name longer than its length byte allows" }
        } catch (e: IllegalArgumentException) {
            // documented: not a Phoenix V2 binary message
        }
    }

    private companion object {
        val JSON = Json { ignoreUnknownKeys = true }
    }
}
