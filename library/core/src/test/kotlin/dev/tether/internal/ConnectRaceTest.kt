package dev.tether.internal

import dev.tether.ConnectRequest
import dev.tether.ConnectionState
import dev.tether.engine.EngineSession
import dev.tether.engine.TetherEngineApi
import dev.tether.engine.WebSocketEngine
import dev.tether.internal.nio.NioEngine
import dev.tether.quickClient
import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runInterruptible
import kotlinx.coroutines.withTimeout
import java.time.Duration
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.time.Duration.Companion.seconds

/**
 * A connect attempt cancelled (by a pause, a close, a hook's StayDown) just as the engine hands its open session
 * back: the session must be closed, not dropped with its socket open. Over a real socket to the test kit's server; the
 * engine is Tether's own, wrapped so that its answer is held until the attempt has been cancelled.
 */
@OptIn(TetherEngineApi::class)
class ConnectRaceTest : FunSpec({

    /** Tether's engine, holding each opened session until [release] opens (on the attempt's own thread). */
    class HeldEngine(private val real: WebSocketEngine, val opened: CountDownLatch, val release: CountDownLatch) : WebSocketEngine {
        override suspend fun open(request: ConnectRequest, scope: CoroutineScope): EngineSession {
            val session = real.open(request, scope)
            opened.countDown()
            release.await(30, TimeUnit.SECONDS) // not a suspension: the attempt is cancelled while its answer is on its way
            return session
        }

        override fun close() = real.close()
    }

    test("a session the engine opens as the attempt is cancelled (here by a pause) is closed, not leaked") {
        TestWebSocketServer().start().use { server ->
            val opened = CountDownLatch(1)
            val release = CountDownLatch(1)
            val conn = quickClient(server.url()) {
                engine { settings -> HeldEngine(NioEngine(settings), opened, release) }
            }.connect()
            try {
                runInterruptible(Dispatchers.IO) { opened.await(10, TimeUnit.SECONDS) } shouldBe true
                conn.pause()
                withTimeout(10.seconds) { conn.state.first { it is ConnectionState.Paused } } // the attempt was cancelled
                release.countDown()
                // the server sees its connection closed by the client while the client stays paused
                val closed = runInterruptible(Dispatchers.IO) { server.connections.single().awaitClosed(Duration.ofSeconds(10)) }
                closed shouldBe true
                (conn.state.value as? ConnectionState.Paused)?.reason shouldBe dev.tether.PauseReason.PAUSED
            } finally {
                release.countDown()
                conn.close()
            }
        }
    }
})
