package dev.tether

import dev.tether.TetherException.ConnectFailure
import dev.tether.testkit.TestCertificate
import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.withTimeout
import javax.net.ssl.SSLContext
import kotlin.time.Duration.Companion.seconds

/** A started wss:// echo server presenting [cert]. */
private fun tlsEcho(cert: TestCertificate): TestWebSocketServer = TestWebSocketServer().apply { tls = cert }.start()

/** The TLS failure of a client that cannot connect to [url]. */
private suspend fun tlsFailure(url: String, block: WebSocketClientBuilder.() -> Unit): TetherException.ConnectFailed {
    quickClient(url) { block() }.connect().use { conn ->
        val r = conn.awaitState<ConnectionState.Reconnecting>()
        return r.cause.shouldBeInstanceOf<TetherException.ConnectFailed>()
    }
}

class TlsTest : FunSpec({
    val cert = TestCertificate.create("dns:localhost", "ip:127.0.0.1")

    test("wss:// echoes small and large messages over TLS 1.3, with a private trust store") {
        tlsEcho(cert).use { server ->
            quickClient(server.url()) { tls(cert.sslContext) }.connect().use { conn ->
                conn.awaitConnected().handshake.tlsProtocol shouldBe "TLSv1.3"
                val big = ByteArray(300_000) { (it % 253).toByte() }
                conn.sendText("hello")
                conn.send(Frame.Binary(big))
                withTimeout(10.seconds) {
                    conn.incoming.receive() shouldBe Frame.Text("hello")
                    conn.incoming.receive() shouldBe Frame.Binary(big)
                }
            }
        }
    }

    test("TLS 1.2 when the context asks for it") {
        tlsEcho(cert).use { server ->
            val tls12 = SSLContext.getInstance("TLSv1.2").apply { init(null, arrayOf(cert.trustManager), null) }
            quickClient(server.url()) { tls(tls12) }.connect().use { conn ->
                conn.awaitConnected().handshake.tlsProtocol shouldBe "TLSv1.2"
            }
        }
    }

    test("trust managers configure trust too, and host names are checked with SNI") {
        tlsEcho(TestCertificate.create("dns:localhost")).use { server ->
            quickClient(server.url("/", "localhost")) { tls(arrayOf(TestCertificate.create("dns:localhost").trustManager)) }
                .connect().use { it.awaitConnected().handshake.tlsProtocol shouldBe "TLSv1.3" }
            server.handshakeRequests.single().tlsServerName shouldBe "localhost"
        }
    }

    test("an IP-literal URL sends no SNI (RFC 6066 forbids literals there) and is checked against the IP") {
        tlsEcho(cert).use { server ->
            quickClient(server.url("/", "127.0.0.1")) { tls(cert.sslContext) }.connect().use { it.awaitConnected() }
            server.handshakeRequests.single().tlsServerName shouldBe null
        }
    }

    test("the JDK's default trust store rejects an unknown certificate: ConnectFailed(TLS) with the JDK's reason") {
        tlsEcho(cert).use { server ->
            val e = tlsFailure(server.url()) { }
            e.kind shouldBe ConnectFailure.TLS
            e.message!! shouldContain "PKIX"
        }
    }

    test("an IP-literal URL is refused when the certificate names only localhost") {
        val localhostOnly = TestCertificate.create("dns:localhost")
        tlsEcho(localhostOnly).use { server ->
            val e = tlsFailure(server.url("/", "127.0.0.1")) { tls(localhostOnly.sslContext) }
            e.kind shouldBe ConnectFailure.TLS
            e.message!! shouldContain "127.0.0.1"
        }
    }

    test("a host name the certificate does not list is refused") {
        val ipOnly = TestCertificate.create("ip:127.0.0.1")
        tlsEcho(ipOnly).use { server ->
            val e = tlsFailure(server.url("/", "localhost")) { tls(ipOnly.sslContext) }
            e.kind shouldBe ConnectFailure.TLS
            e.message!! shouldContain "localhost"
        }
    }

    test("wss:// to a plain ws:// server says so") {
        TestWebSocketServer.echo().use { server ->
            val e = tlsFailure(server.url().replace("ws://", "wss://")) { tls(cert.sslContext) }
            e.kind shouldBe ConnectFailure.TLS
            e.message!! shouldContain "plain ws:// server"
        }
    }

    test("a client certificate is presented when the key managers are given") {
        val client = TestCertificate.create("dns:client.test")
        val server = TestWebSocketServer().apply {
            tls = cert
            requireClientCertificate = client
        }.start()
        server.use {
            tlsFailure(server.url()) { tls(cert.sslContext) }.kind shouldBe ConnectFailure.TLS
            quickClient(server.url()) { tls(arrayOf(cert.trustManager), client.keyManagers) }.connect().use {
                it.awaitConnected().handshake.tlsProtocol shouldBe "TLSv1.3"
            }
        }
    }

    test("the application's TrustManager runs off the I/O loop: a blocked check stalls no other connection (issue 21, item 6)") {
        tlsEcho(cert).use { server ->
            val inner = cert.trustManager as javax.net.ssl.X509ExtendedTrustManager
            val entered = java.util.concurrent.CountDownLatch(1)
            val release = java.util.concurrent.CountDownLatch(1)
            val threads = java.util.Collections.synchronizedList(ArrayList<String>())
            val slow = object : javax.net.ssl.X509ExtendedTrustManager() {
                override fun checkServerTrusted(chain: Array<java.security.cert.X509Certificate>, authType: String, engine: javax.net.ssl.SSLEngine) {
                    threads += Thread.currentThread().name
                    entered.countDown()
                    release.await(30, java.util.concurrent.TimeUnit.SECONDS) // the application's slow check
                    inner.checkServerTrusted(chain, authType, engine)
                }
                override fun checkServerTrusted(chain: Array<java.security.cert.X509Certificate>, authType: String, socket: java.net.Socket) =
                    inner.checkServerTrusted(chain, authType, socket)
                override fun checkServerTrusted(chain: Array<java.security.cert.X509Certificate>, authType: String) = inner.checkServerTrusted(chain, authType)
                override fun checkClientTrusted(chain: Array<java.security.cert.X509Certificate>, authType: String, engine: javax.net.ssl.SSLEngine) =
                    inner.checkClientTrusted(chain, authType, engine)
                override fun checkClientTrusted(chain: Array<java.security.cert.X509Certificate>, authType: String, socket: java.net.Socket) =
                    inner.checkClientTrusted(chain, authType, socket)
                override fun checkClientTrusted(chain: Array<java.security.cert.X509Certificate>, authType: String) = inner.checkClientTrusted(chain, authType)
                override fun getAcceptedIssuers(): Array<java.security.cert.X509Certificate> = inner.acceptedIssuers
            }
            val others = (1..4).map { quickClient(server.url()) { tls(cert.sslContext) }.connect() }
            try {
                others.forEach { it.awaitConnected() }
                quickClient(server.url()) { tls(arrayOf<javax.net.ssl.TrustManager>(slow)); connectTimeout = 30.seconds }.connect().use { blocked ->
                    kotlinx.coroutines.runInterruptible(kotlinx.coroutines.Dispatchers.IO) { entered.await(10, java.util.concurrent.TimeUnit.SECONDS) } shouldBe true
                    withTimeout(10.seconds) { // while the check is blocked, every other connection (on either loop) echoes
                        others.forEach { c ->
                            c.sendText("alive")
                            c.incoming.receive() shouldBe Frame.Text("alive")
                        }
                    }
                    release.countDown()
                    blocked.awaitConnected()
                }
                threads.filter { it.startsWith("tether-io") } shouldBe emptyList()
            } finally {
                release.countDown()
                others.forEach { it.close() }
            }
        }
    }
})
