package dev.tether.testkit

import java.io.File
import java.net.Socket
import java.nio.file.Files
import java.util.Base64
import java.security.KeyStore
import java.security.MessageDigest
import java.security.cert.CertificateFactory
import java.security.cert.X509Certificate
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.TimeUnit
import javax.net.ssl.KeyManagerFactory
import javax.net.ssl.SSLContext
import javax.net.ssl.SSLSocket
import javax.net.ssl.TrustManagerFactory
import javax.net.ssl.X509TrustManager

/**
 * A certificate made at test time (EC P-256, valid for two days) for `wss://` on loopback: the server side for
 * [TestWebSocketServer.tls], and a client [sslContext] or [trustManager] that trusts it. [create] makes a self-signed
 * one, trusted as itself; [authority] a certificate authority whose [issue] makes certificates it signed (and
 * [issueAuthority] an intermediate one), for tests of chains and certificate pinning: the server presents the chain
 * up to, not including, the root, and the client trusts the root. Made with the JDK's own `keytool`, so the test kit
 * needs no crypto library; self-signed certificates with the same names are made once per JVM.
 *
 * Thread-safe and immutable.
 */
public class TestCertificate private constructor(
    private val keyStore: KeyStore,
    /** The names the certificate is valid for, as given to [create] (e.g. `dns:localhost`, `ip:127.0.0.1`). */
    public val names: List<String>,
    root: X509Certificate? = null,
) {
    /** The certificate itself. */
    public val certificate: X509Certificate = keyStore.getCertificate(ALIAS) as X509Certificate

    /** The chain the server presents: this certificate, then its issuers up to (not including) the root. */
    public val chain: List<X509Certificate> = keyStore.getCertificateChain(ALIAS).map { it as X509Certificate }

    /** The root this certificate chains to: itself when self-signed or an authority made by [authority]. */
    public val root: X509Certificate = root ?: certificate

    /** This certificate's key as a certificate pin: `sha256/` and the Base64 of the SHA-256 of its SubjectPublicKeyInfo. */
    public val pin: String = pinOf(certificate)

    /** A trust manager that trusts [root] only (this certificate itself when self-signed). */
    public val trustManager: X509TrustManager = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm())
        .apply { init(KeyStore.getInstance("PKCS12").apply { load(null, null); setCertificateEntry(ALIAS, this@TestCertificate.root) }) }
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

    /**
     * A certificate for [names] (`dns:<name>`, `ip:<address>`; default `dns:localhost` and `ip:127.0.0.1`) signed by
     * this one, which must be an authority ([authority], [issueAuthority]). Its [chain] is the new certificate and
     * this one's chain without the root; its [trustManager] trusts the root. Takes about a second (`keytool`).
     */
    public fun issue(vararg names: String): TestCertificate {
        val list = checkedNames(names)
        return sign("CN=tether-test", listOf("-ext", "SAN=" + list.joinToString(",")), list)
    }

    /** An intermediate certificate authority named [name], signed by this authority; it can [issue] in turn. */
    public fun issueAuthority(name: String): TestCertificate =
        sign("CN=$name", listOf("-ext", "bc:c", "-ext", "KU=keyCertSign,cRLSign"), emptyList())

    private fun sign(dname: String, extensions: List<String>, names: List<String>): TestCertificate {
        require(certificate.basicConstraints >= 0) { "$this is not a certificate authority: make one with TestCertificate.authority" }
        return inTempDir { dir ->
            val issuer = File(dir, "issuer.p12").apply { outputStream().use { keyStore.store(it, PASSWORD.toCharArray()) } }
            val subject = File(dir, "subject.p12")
            keytool(dir, "-genkeypair", "-alias", ALIAS, "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
                "-dname", dname, "-keystore", subject.path, "-storetype", "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD)
            keytool(dir, "-certreq", "-alias", ALIAS, "-keystore", subject.path, "-storepass", PASSWORD, "-file", "req.csr")
            keytool(dir, *(listOf("-gencert", "-alias", ALIAS, "-keystore", issuer.path, "-storepass", PASSWORD,
                "-infile", "req.csr", "-outfile", "cert.pem", "-rfc", "-validity", "2") + extensions).toTypedArray())
            val ks = load(subject)
            val key = ks.getKey(ALIAS, PASSWORD.toCharArray())
            val signed = File(dir, "cert.pem").inputStream().use {
                CertificateFactory.getInstance("X.509").generateCertificate(it) as X509Certificate
            }
            // the issuer's chain without the root: what a server presents
            ks.setKeyEntry(ALIAS, key, PASSWORD.toCharArray(), (listOf(signed) + chain.filter { it != root }).toTypedArray())
            TestCertificate(ks, names, root)
        }
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
            return made.computeIfAbsent(checkedNames(names)) { generate(it) }
        }

        /**
         * A self-signed certificate authority named [name] (a root): give its [issue]d certificates to the server and
         * its [trustManager] or [sslContext] to the client. Takes about a second (`keytool`).
         */
        @JvmStatic
        @JvmOverloads
        public fun authority(name: String = "Tether Test Root"): TestCertificate = inTempDir { dir ->
            val file = File(dir, "ca.p12")
            keytool(dir, "-genkeypair", "-alias", ALIAS, "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
                "-dname", "CN=$name", "-ext", "bc:c", "-ext", "KU=keyCertSign,cRLSign",
                "-keystore", file.path, "-storetype", "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD)
            TestCertificate(load(file), emptyList())
        }

        /** The pin of [certificate]'s key, as [pin] gives it. */
        @JvmStatic
        public fun pinOf(certificate: X509Certificate): String =
            "sha256/" + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(certificate.publicKey.encoded))

        private fun generate(names: List<String>): TestCertificate = inTempDir { dir ->
            val file = File(dir, "cert.p12")
            keytool(dir, "-genkeypair", "-alias", ALIAS, "-keyalg", "EC", "-groupname", "secp256r1",
                "-validity", "2", "-dname", "CN=tether-test", "-ext", "SAN=" + names.joinToString(","),
                "-keystore", file.path, "-storetype", "PKCS12", "-storepass", PASSWORD, "-keypass", PASSWORD)
            TestCertificate(load(file), names)
        }

        /** [names], or `dns:localhost` and `ip:127.0.0.1` when empty, each checked to be `dns:` or `ip:`. */
        private fun checkedNames(names: Array<out String>): List<String> {
            val list = if (names.isEmpty()) listOf("dns:localhost", "ip:127.0.0.1") else names.toList()
            list.forEach { require(it.startsWith("dns:") || it.startsWith("ip:")) { "a name must be dns:<name> or ip:<address>, was $it" } }
            return list
        }

        private fun <T> inTempDir(block: (File) -> T): T {
            val dir = Files.createTempDirectory("tether-cert").toFile()
            try {
                return block(dir)
            } finally {
                dir.deleteRecursively()
            }
        }

        private fun keytool(dir: File, vararg args: String) {
            val keytool = File(System.getProperty("java.home"), "bin/keytool").path
            val process = ProcessBuilder(listOf(keytool) + args).directory(dir).redirectErrorStream(true).start()
            val output = process.inputStream.bufferedReader().readText()
            check(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0) { "keytool ${args.first()} failed: $output" }
        }

        private fun load(file: File): KeyStore =
            KeyStore.getInstance("PKCS12").apply { file.inputStream().use { load(it, PASSWORD.toCharArray()) } }
    }
}
