package dev.tether.internal

import dev.tether.CertificatePins
import java.net.Socket
import java.security.MessageDigest
import java.security.cert.CertificateException
import java.security.cert.X509Certificate
import java.util.Base64
import javax.net.ssl.SSLEngine
import javax.net.ssl.SSLSocket
import javax.net.ssl.X509ExtendedTrustManager

/**
 * Certificate pinning on top of a trust manager: [delegate] verifies the chain and the host name as always, then the
 * pins of the host (see [CertificatePins]) must match a key of the verified path. Runs where the JDK runs trust
 * managers: in the TLS handshake's delegated tasks, off Tether's I/O threads.
 *
 * The path is rebuilt from the server's certificate by signatures (each certificate signed by the next), ending at
 * one of [delegate]'s accepted issuers (the trust anchor, which the server may leave out): a certificate the server
 * adds that nothing on the path signed, or that signed nothing on it, never satisfies a pin.
 */
internal class PinningTrustManager(
    private val delegate: X509ExtendedTrustManager,
    private val pins: CertificatePins,
) : X509ExtendedTrustManager() {

    override fun checkServerTrusted(chain: Array<out X509Certificate>, authType: String, engine: SSLEngine?) {
        delegate.checkServerTrusted(chain, authType, engine)
        checkPins(engine?.peerHost, chain)
    }

    override fun checkServerTrusted(chain: Array<out X509Certificate>, authType: String, socket: Socket?) {
        delegate.checkServerTrusted(chain, authType, socket)
        checkPins((socket as? SSLSocket)?.handshakeSession?.peerHost, chain)
    }

    override fun checkServerTrusted(chain: Array<out X509Certificate>, authType: String) {
        delegate.checkServerTrusted(chain, authType)
        checkPins(null, chain)
    }

    override fun checkClientTrusted(chain: Array<out X509Certificate>, authType: String, engine: SSLEngine?) =
        delegate.checkClientTrusted(chain, authType, engine)

    override fun checkClientTrusted(chain: Array<out X509Certificate>, authType: String, socket: Socket?) =
        delegate.checkClientTrusted(chain, authType, socket)

    override fun checkClientTrusted(chain: Array<out X509Certificate>, authType: String) =
        delegate.checkClientTrusted(chain, authType)

    override fun getAcceptedIssuers(): Array<X509Certificate> = delegate.acceptedIssuers

    private fun checkPins(host: String?, chain: Array<out X509Certificate>) {
        if (host == null) throw CertificateException("certificate pinning needs the server's host name, which the TLS engine did not give")
        val expected = pins.pinsFor(host)
        if (expected.isEmpty()) return
        val path = verifiedPath(chain, delegate.acceptedIssuers)
        val seen = path.map { pin(it) }
        if (seen.any { it in expected }) return
        throw CertificateException(
            "certificate pinning failed for $host: no key of the verified chain matches its pins $expected; " +
                "the chain's pins are " + path.zip(seen).joinToString { (c, p) -> "$p (${c.subjectX500Principal.name})" },
        )
    }

    companion object {
        /** The pin of [certificate]'s public key: `sha256/` and the Base64 of the SHA-256 of its SubjectPublicKeyInfo. */
        fun pin(certificate: X509Certificate): String =
            "sha256/" + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(certificate.publicKey.encoded))

        /**
         * The path from [chain]'s first certificate upwards, each signed by the next, ending at a certificate of
         * [anchors] that signed the top (added when the server left it out) or at a self-signed one.
         */
        fun verifiedPath(chain: Array<out X509Certificate>, anchors: Array<X509Certificate>): List<X509Certificate> {
            if (chain.isEmpty()) return emptyList()
            val path = mutableListOf(chain[0])
            val rest = chain.drop(1).toMutableList()
            repeat(MAX_PATH) {
                val top = path.last()
                anchors.firstOrNull { signedBy(top, it) }?.let { anchor ->
                    if (anchor != top) path += anchor
                    return path
                }
                if (signedBy(top, top)) return path
                val next = rest.firstOrNull { signedBy(top, it) } ?: return path
                rest.remove(next)
                path += next
            }
            return path
        }

        private fun signedBy(cert: X509Certificate, issuer: X509Certificate): Boolean =
            cert.issuerX500Principal == issuer.subjectX500Principal &&
                try {
                    cert.verify(issuer.publicKey)
                    true
                } catch (e: Exception) {
                    false
                }

        private const val MAX_PATH = 10
    }
}
