package dev.tether.ktor

import dev.tether.engine.EngineFactory
import dev.tether.engine.EngineSettings
import dev.tether.engine.WebSocketEngine
import io.ktor.client.HttpClient
import io.ktor.client.engine.cio.CIO

/** The engine core's tests run over in this module: a Ktor CIO client per connection (see `quickClient`). */
class CioEngineForTests : EngineFactory {
    override fun create(settings: EngineSettings): WebSocketEngine {
        val cio = HttpClient(CIO)
        val engine = KtorEngine(cio).create(settings)
        return object : WebSocketEngine by engine {
            override fun close() {
                engine.close()
                cio.close()
            }
        }
    }
}
