package dev.tether

import dev.tether.TetherException.ConnectFailure
import dev.tether.internal.PinPatterns
import dev.tether.internal.PinningTrustManager
import dev.tether.testkit.TestCertificate
import dev.tether.testkit.TestWebSocketServer
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldNotContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import kotlin.time.Duration.Companion.seconds

/** Pins that match nothing: well-formed, never a real key's hash. */
private const val WRONG = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
private const val WRONG_TOO = "sha256/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB="

/**
 * Certificate pinning over real TLS on loopback, with certificates made at test time: a root, an intermediate and a
 * server certificate it issued (the server presents the server certificate and the intermediate, not the root).
 */
class CertificatePinningTest : FunSpec({
    val root = TestCertificate.authority("Pinning Test Root")
    val intermediate = root.issueAuthority("Pinning Test Intermediate")
    val leaf = intermediate.issue("dns:localhost", "ip:127.0.0.1")

    fun server() = TestWebSocketServer().apply { tls = leaf }.start()

    /** Connects to [url] with [pins], trusting the root; returns the connected state or the TLS failure. */
    suspend fun attempt(url: String, pins: CertificatePinsBuilder.() -> Unit): Any =
        quickClient(url) { tls(arrayOf(leaf.trustManager)); certificatePins(pins) }.connect().use { conn ->
            when (val s = withTimeout(10.seconds) { conn.state.first { it is ConnectionState.Connected || it is ConnectionState.Reconnecting } }) {
                is ConnectionState.Reconnecting -> s.cause.shouldBeInstanceOf<TetherException.ConnectFailed>()
                else -> s
            }
        }

    test("the test chain is what servers present: leaf and intermediate, the root left out") {
        leaf.chain.map { it.subjectX500Principal.name } shouldContainExactly listOf("CN=tether-test", "CN=Pinning Test Intermediate")
        leaf.root shouldBe root.certificate
    }

    test("a pin of the server's key, the intermediate's or the root's (never sent) lets the connection up") {
        server().use { s ->
            for (pin in listOf(leaf.pin, intermediate.pin, root.pin)) {
                attempt(s.url()) { pin("127.0.0.1", pin) }.shouldBeInstanceOf<ConnectionState.Connected>()
            }
        }
    }

    test("a wrong pin fails the connection with ConnectFailed(TLS), naming the host and the pins seen") {
        server().use { s ->
            val e = attempt(s.url()) { pin("127.0.0.1", WRONG, WRONG_TOO) }.shouldBeInstanceOf<TetherException.ConnectFailed>()
            e.kind shouldBe ConnectFailure.TLS
            e.message!! shouldContain "certificate pinning failed for 127.0.0.1"
            e.message!! shouldContain WRONG
            for (seen in listOf(leaf.pin, intermediate.pin, root.pin)) e.message!! shouldContain seen
            s.handshakeRequests.size shouldBe 0 // no upgrade request went out
        }
    }

    test("a backup pin: one pin of the set matching is enough") {
        server().use { s ->
            attempt(s.url()) { pin("127.0.0.1", WRONG, leaf.pin) }.shouldBeInstanceOf<ConnectionState.Connected>()
        }
    }

    test("wildcard patterns: **.localhost pins localhost itself; *.localhost does not, so localhost is not pinned") {
        server().use { s ->
            val e = attempt(s.url("/", "localhost")) { pin("**.localhost", WRONG) }.shouldBeInstanceOf<TetherException.ConnectFailed>()
            e.message!! shouldContain "certificate pinning failed for localhost"
            attempt(s.url("/", "localhost")) { pin("**.LOCALHOST", root.pin) }.shouldBeInstanceOf<ConnectionState.Connected>()
            attempt(s.url("/", "localhost")) { pin("*.localhost", WRONG) }.shouldBeInstanceOf<ConnectionState.Connected>()
        }
    }

    test("pinning never replaces verification: a right pin with an untrusted chain still fails, with the JDK's reason") {
        server().use { s ->
            val other = TestCertificate.authority("Another Root")
            quickClient(s.url()) { tls(arrayOf(other.trustManager)); certificatePins { pin("127.0.0.1", leaf.pin) } }.connect().use { conn ->
                val e = conn.awaitState<ConnectionState.Reconnecting>().cause.shouldBeInstanceOf<TetherException.ConnectFailed>()
                e.kind shouldBe ConnectFailure.TLS
                e.message!! shouldNotContain "pinning"
            }
        }
    }

    test("host patterns: one label for *, any number for **, exact otherwise, case-insensitive") {
        val m = PinPatterns::hostMatches
        m("*.example.com", "www.example.com") shouldBe true
        m("*.example.com", "example.com") shouldBe false
        m("*.example.com", "a.b.example.com") shouldBe false
        m("*.example.com", "wwwexample.com") shouldBe false
        m("**.example.com", "example.com") shouldBe true
        m("**.example.com", "a.b.example.com") shouldBe true
        m("**.example.com", "badexample.com") shouldBe false
        m("example.com", "EXAMPLE.com.") shouldBe true
        m("example.com", "www.example.com") shouldBe false
    }

    test("a certificate the server adds off the signed path never satisfies a pin") {
        val stray = TestCertificate.authority("Stray").certificate
        val path = PinningTrustManager.verifiedPath(arrayOf(leaf.chain[0], stray, leaf.chain[1]), arrayOf(root.certificate))
        path shouldContainExactly listOf(leaf.chain[0], leaf.chain[1], root.certificate)
        // a chain whose second certificate did not sign the first ends at the first
        PinningTrustManager.verifiedPath(arrayOf(leaf.chain[0], stray), emptyArray()) shouldContainExactly listOf(leaf.chain[0])
    }

    test("bad pins and patterns fail at build time naming the option") {
        shouldThrow<IllegalArgumentException> { webSocketClient("wss://x.example") { certificatePins { pin("x.example", "sha1/abc=") } } }
            .message!! shouldContain "certificatePins: 'sha1/abc=' for x.example is not a pin"
        shouldThrow<IllegalArgumentException> { webSocketClient("wss://x.example") { certificatePins { pin("x.example") } } }
            .message!! shouldContain "needs at least one pin"
        shouldThrow<IllegalArgumentException> { webSocketClient("wss://x.example") { certificatePins { pin("a.*.example", WRONG) } } }
            .message!! shouldContain "'a.*.example' is not a host pattern"
        shouldThrow<IllegalArgumentException> {
            webSocketClient("wss://x.example") { tls(root.sslContext); certificatePins { pin("x.example", WRONG) } }
        }.message!! shouldContain "instead of tls(sslContext)"
        @OptIn(dev.tether.engine.TetherEngineApi::class)
        shouldThrow<IllegalArgumentException> {
            webSocketClient("wss://x.example") { engine { error("never opened") }; certificatePins { pin("x.example", WRONG) } }
        }.message!! shouldContain "certificatePins: only Tether's own engine checks pins"
    }
})
