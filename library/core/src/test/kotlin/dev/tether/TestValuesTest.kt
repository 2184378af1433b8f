package dev.tether

import dev.tether.testing.TestValues
import dev.tether.testing.TetherTestApi
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlin.time.Duration.Companion.seconds

/** A user's test of their own policy, with values built by TestValues instead of a connection. */
@OptIn(TetherTestApi::class)
class TestValuesTest : FunSpec({

    /** The kind of policy an application writes: stay down on 4001, else Tether's default. */
    fun policy(d: Disconnect): Decision = if (d.code == 4001) Decision.StayDown else DefaultPolicy.onDisconnect(d)

    test("a policy is testable with the values Tether would hand it") {
        policy(TestValues.disconnect(4001, "banned")) shouldBe Decision.StayDown
        policy(TestValues.disconnect(1001, "going away", uptime = 3.seconds)).shouldBeInstanceOf<Decision.Reconnect>()
        val connected = TestValues.connected(2, TestValues.handshake("wss://example.com/feed", subprotocol = "v2"))
        connected.handshake.subprotocol shouldBe "v2"
        connected.toString() shouldBe ConnectionState.Connected(2, connected.handshake).toString()
        TestValues.closed(1000, "bye").code shouldBe 1000
        TestValues.reconnecting(3, 2.seconds, null, TestValues.disconnect(1006)).delay shouldBe 2.seconds
        TestValues.connectContext(1, ConnectRequest("ws://127.0.0.1/x")).attempt shouldBe 1
    }
})
