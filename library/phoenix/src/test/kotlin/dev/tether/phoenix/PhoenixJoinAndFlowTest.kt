package dev.tether.phoenix

import dev.tether.testkit.FakePhoenixServer
import dev.tether.testkit.FakePhoenixServer.Answer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.withTimeout
import java.util.concurrent.atomic.AtomicInteger
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

class PhoenixJoinAndFlowTest : FunSpec({
    fun socketFor(server: FakePhoenixServer) = phoenixSocket(server.endpoint) {
        reconnectAfter { 50.milliseconds }
        rejoinAfter { 100.milliseconds }
        tether { logInfo = false; logErrors = false }
    }.also { it.connect() }

    test("join timeout: Timeout to the caller, a phx_leave for that join, then a rejoin with a new join_ref") {
        FakePhoenixServer().start().use { server ->
            val n = AtomicInteger()
            server.joinHandler = FakePhoenixServer.JoinHandler { _, _ -> if (n.incrementAndGet() == 1) Answer.none() else Answer.ok() }
            socketFor(server).use { socket ->
                val ch = socket.channel("slow:1")
                ch.join(timeout = 200.milliseconds) shouldBe Reply.Timeout
                ch.awaitJoined(5.seconds)
                server.joins.size shouldBe 2
                val first = server.joins[0].joinRef
                first shouldNotBe server.joins[1].joinRef
                val texts = server.server.connections.single().received.map { it.text }
                texts.any { it.startsWith("[\"$first\"") && it.contains("phx_leave") } shouldBe true
            }
        }
    }

    test("the messages flow delivers broadcasts in order to a collector") {
        FakePhoenixServer().start().use { server ->
            socketFor(server).use { socket ->
                val ch = socket.channel("room:flow")
                ch.join()
                val got = coroutineScope {
                    // UNDISPATCHED: the collector subscribes before the broadcasts are sent
                    val c = async(start = kotlinx.coroutines.CoroutineStart.UNDISPATCHED) { ch.messages.take(3).toList() }
                    (1..3).forEach { server.broadcast("room:flow", "n", "{\"i\":$it}") }
                    withTimeout(5.seconds) { c.await() }
                }
                got.map { it.json.toString() } shouldContainExactly listOf("{\"i\":1}", "{\"i\":2}", "{\"i\":3}")
            }
        }
    }
})
