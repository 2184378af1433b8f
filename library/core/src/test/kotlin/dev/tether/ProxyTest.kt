package dev.tether

import dev.tether.TetherException.ConnectFailure
import dev.tether.testkit.TestCertificate
import dev.tether.testkit.TestProxy
import dev.tether.testkit.TestWebSocketServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import io.kotest.matchers.string.shouldNotContain
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import java.net.InetSocketAddress
import java.net.Proxy
import java.net.ProxySelector
import java.net.SocketAddress
import java.net.URI
import java.util.Base64
import kotlin.time.Duration.Companion.seconds

private val PROXY_WAIT = java.time.Duration.ofSeconds(5)

/** Connects through [proxy] and echoes once; returns the text that came back. */
private suspend fun echoThrough(url: String, block: WebSocketClientBuilder.() -> Unit): String =
    quickClient(url, block).connect().use { conn ->
        withTimeout(10.seconds) {
            conn.awaitConnected()
            conn.sendText("through")
            (conn.incoming.receive() as Frame.Text).text
        }
    }

/** The first connect failure of a client that cannot get through. */
private suspend fun failureThrough(url: String, block: WebSocketClientBuilder.() -> Unit): TetherException.ConnectFailed =
    quickClient(url) { logErrors = false; reconnect { enabled = false }; block() }.connect().use { conn ->
        withTimeout(10.seconds) { conn.state.first { it is ConnectionState.Closed } as ConnectionState.Closed }
            .cause as TetherException.ConnectFailed
    }

class ProxyTest : FunSpec({

    test("ws:// through an HTTP CONNECT proxy with credentials") {
        TestWebSocketServer.echo().use { server ->
            TestProxy("alice" to "s3cret").start().use { proxy ->
                echoThrough(server.url()) { proxy(ProxyConfig.http("127.0.0.1", proxy.port, "alice", "s3cret")) } shouldBe "through"
                proxy.tunnels.awaitItem(PROXY_WAIT) shouldBe "127.0.0.1:${server.port}"
                proxy.credentialsSeen.awaitItem(PROXY_WAIT) shouldBe "Basic " + Base64.getEncoder().encodeToString("alice:s3cret".toByteArray())
            }
        }
    }

    test("wss:// through an HTTP CONNECT proxy: TLS runs inside the tunnel, checked against the server's name") {
        val cert = TestCertificate.create("dns:localhost")
        TestWebSocketServer().apply { tls = cert }.start().use { server ->
            TestProxy().start().use { proxy ->
                echoThrough(server.url("/", "localhost")) {
                    tls(cert.sslContext)
                    proxy(ProxyConfig.http("127.0.0.1", proxy.port))
                } shouldBe "through"
                proxy.tunnels.awaitItem(PROXY_WAIT) shouldBe "localhost:${server.port}" // the proxy resolves the name
            }
        }
    }

    test("ws:// and wss:// through a SOCKS5 proxy with credentials") {
        val cert = TestCertificate.create("dns:localhost")
        TestWebSocketServer.echo().use { plain ->
            TestWebSocketServer().apply { tls = cert }.start().use { secure ->
                TestProxy("bob" to "pw").start().use { proxy ->
                    val socks = ProxyConfig.socks5("127.0.0.1", proxy.port, "bob", "pw")
                    echoThrough(plain.url()) { proxy(socks) } shouldBe "through"
                    echoThrough(secure.url("/", "localhost")) { tls(cert.sslContext); proxy(socks) } shouldBe "through"
                    proxy.tunnels.awaitItem(PROXY_WAIT) shouldBe "127.0.0.1:${plain.port}"
                    proxy.tunnels.awaitItem(PROXY_WAIT) shouldBe "localhost:${secure.port}"
                }
            }
        }
    }

    test("a proxy's refusal is a clear ConnectFailed(PROXY) with its status, and never shows the credentials") {
        TestWebSocketServer.echo().use { server ->
            TestProxy("alice" to "right").start().use { proxy ->
                val http = failureThrough(server.url()) { proxy(ProxyConfig.http("127.0.0.1", proxy.port, "alice", "wrong")) }
                http.kind shouldBe ConnectFailure.PROXY
                http.proxyStatus shouldBe 407
                http.message!! shouldNotContain "wrong"
                val socks = failureThrough(server.url()) { proxy(ProxyConfig.socks5("127.0.0.1", proxy.port, "alice", "wrong")) }
                socks.kind shouldBe ConnectFailure.PROXY
                socks.proxyStatus shouldBe 407 // credentials refused, as HTTP says it
                ProxyConfig.http("h", 1, "alice", "wrong").toString() shouldNotContain "wrong"
                proxy.refuseWith = 403
                failureThrough(server.url()) { proxy(ProxyConfig.http("127.0.0.1", proxy.port)) }.proxyStatus shouldBe 403
            }
        }
    }

    test("wrong proxy credentials stay down under the default policy, HTTP and SOCKS5 (issue 21, item 17)") {
        TestWebSocketServer.echo().use { server ->
            TestProxy("alice" to "right").start().use { proxy ->
                for (config in listOf(
                    ProxyConfig.http("127.0.0.1", proxy.port, "alice", "wrong"),
                    ProxyConfig.socks5("127.0.0.1", proxy.port, "alice", "wrong"),
                    ProxyConfig.socks5("127.0.0.1", proxy.port), // no credentials for a proxy that wants some
                )) {
                    quickClient(server.url()) { logErrors = false; proxy(config) }.connect().use { conn ->
                        val down = conn.awaitState<ConnectionState.Down>()
                        (down.cause as TetherException.ConnectFailed).proxyStatus shouldBe 407
                        conn.state.value.shouldBeInstanceOf<ConnectionState.Down>()
                    }
                }
            }
        }
    }

    test("a ProxySelector picks the proxy per URL") {
        TestWebSocketServer.echo().use { server ->
            TestProxy().start().use { proxy ->
                val asked = java.util.concurrent.CopyOnWriteArrayList<URI>()
                val selector = object : ProxySelector() {
                    override fun select(uri: URI): List<Proxy> {
                        asked += uri
                        return listOf(Proxy(Proxy.Type.HTTP, InetSocketAddress("127.0.0.1", proxy.port)))
                    }
                    override fun connectFailed(uri: URI, sa: SocketAddress, ioe: java.io.IOException) = Unit
                }
                echoThrough(server.url()) { proxySelector(selector) } shouldBe "through"
                asked.first() shouldBe URI("http://127.0.0.1:${server.port}")
                proxy.tunnels.awaitItem(PROXY_WAIT) shouldBe "127.0.0.1:${server.port}"
            }
        }
    }

    test("proxy settings are checked when built") {
        io.kotest.assertions.throwables.shouldThrow<IllegalArgumentException> { ProxyConfig.http("h", 0) }.message!!.contains("port") shouldBe true
        io.kotest.assertions.throwables.shouldThrow<IllegalArgumentException> { ProxyConfig.http("h", 8080, "user", null) }
        io.kotest.assertions.throwables.shouldThrow<IllegalArgumentException> { ProxyConfig.socks5("bad host", 1080) }
    }
})
