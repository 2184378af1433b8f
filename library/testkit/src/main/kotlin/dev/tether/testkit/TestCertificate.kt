package dev.tether.testkit

import java.io.File
import java.net.Socket
import java.nio.file.Files
import java.security.KeyStore
import java.security.cert.X509Certificate
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.TimeUnit
import javax.net.ssl.KeyManagerFactory
import javax.net.ssl.SSLContext
import javax.net.ssl.SSLSocket
import javax.net.ssl.TrustManagerFactory
import javax.net.ssl.X509TrustManager

/**
 * A self-signed certificate made at test time (EC P-256, valid for two days) for `wss://` on loopback: the server
 * side for [TestWebSocketServer.tls], and a client [sslContext] or [trustManager] that trusts exactly this
 * certificate. Made with the JDK's own `keytool`, so the test kit needs no crypto library; certificates with the
 * same names are made once per JVM.
 *
 * Thread-safe and immutable.
 */
public class TestCertificate private constructor(
    private val keyStore: KeyStore,
    /** The names the certificate is valid for, as given to [create] (e.g. `dns:localhost`, `ip:127.0.0.1`). */
    public val names: List<String>,
) {
    /** The certificate itself. */
    public val certificate: X509Certificate = keyStore.getCertificate(ALIAS) as X509Certificate

    /** A trust manager that trusts this certificate only. */
    public val trustManager: X509TrustManager = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm())
        .apply { init(KeyStore.getInstance("PKCS12").apply { load(null, null); setCertificateEntry(ALIAS, certificate) }) }
        .trustManagers.filterIsInstance<X509TrustManager>().single()

    /** A client TLS context (TLS 1.3 and 1.2) that trusts this certificate only. */
    public val sslContext: SSLContext = SSLContext.getInstance("TLS").apply { init(null, arrayOf(trustManager), null) }

    /** The server's TLS context, presenting this certificate. */
    public val serverContext: SSLContext = SSLContext.getInstance("TLS").apply {
        val kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm())
        kmf.init(keyStore, PASSWORD.toCharArray())
        init(kmf.keyManagers, null, null)
    }

    /** Key managers presenting this certificate, e.g. as a client certificate. */
    public val keyManagers: Array<javax.net.ssl.KeyManager>
        get() = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm())
            .apply { init(keyStore, PASSWORD.toCharArray()) }.keyManagers

    /** Wraps an accepted socket in server-side TLS and runs the handshake; requires [client]'s certificate if set. */
    @JvmSynthetic
    internal fun wrapServerSide(tcp: Socket, client: TestCertificate?): Socket {
        val context = if (client == null) {
            serverContext
        } else {
            SSLContext.getInstance("TLS").apply { init(keyManagers, arrayOf(client.trustManager), null) }
        }
        val s = context.socketFactory.createSocket(tcp, null, tcp.port, true) as SSLSocket
        s.useClientMode = false
        if (client != null) s.needClientAuth = true
        s.startHandshake()
        return s
    }

    override fun toString(): String = "TestCertificate($names)"

    public companion object {
        private const val ALIAS = "tether-test"
        private const val PASSWORD = "tether-test"
        private val made = ConcurrentHashMap<List<String>, TestCertificate>()

        /**
         * A certificate for [names], each `dns:<name>` or `ip:<address>` (default: `dns:localhost` and
         * `ip:127.0.0.1`).
         */
        @JvmStatic
        public fun create(vararg names: String): TestCertificate {
            val list = if (names.isEmpty()) listOf("dns:localhost", "ip:127.0.0.1") else names.toList()
            list.forEach { require(it.startsWith("dns:") || it.startsWith("ip:")) { "a name must be dns:<name> or ip:<address>, was $it" } }
            return made.computeIfAbsent(list) { generate(it) }
        }

        private fun generate(names: List<String>): TestCertificate {
            val dir = Files.createTempDirectory("tether-cert").toFile()
            val file = File(dir, "cert.p12")
            try {
                val keytool = File(System.getProperty("java.home"), "bin/keytool").path
                val process = ProcessBuilder(
                    keytool, "-genkeypair", "-alias", ALIAS, "-keyalg", "EC", "-groupname", "secp256r1",
                    "-validity", "2", "-dname", "CN=tether-test", "-ext", "SAN=" + names.joinToString(","),
                    "-keystore", file.path, "-storetype", "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD,
                ).redirectErrorStream(true).start()
                val output = process.inputStream.bufferedReader().readText()
                check(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0) { "keytool failed: $output" }
                val ks = KeyStore.getInstance("PKCS12")
                file.inputStream().use { ks.load(it, PASSWORD.toCharArray()) }
                return TestCertificate(ks, names)
            } finally {
                file.delete()
                dir.delete()
            }
        }
    }
}
