package dev.tether.internal

import dev.tether.CertificatePins
import java.security.KeyStore
import javax.net.ssl.KeyManager
import javax.net.ssl.SSLContext
import javax.net.ssl.TrustManager
import javax.net.ssl.TrustManagerFactory
import javax.net.ssl.X509ExtendedTrustManager
import javax.net.ssl.X509TrustManager

/** The client's TLS context from what the builder was given (`tls(…)`, `certificatePins`); checked at build time. */
internal object TlsContexts {
    fun build(
        own: SSLContext?,
        trust: Array<out TrustManager>?,
        keys: Array<out KeyManager>?,
        pins: CertificatePins,
        otherEngine: Boolean,
    ): SSLContext? {
        if (pins.isEmpty) return own ?: trust?.let { context(keys, it) }
        require(!otherEngine) {
            "certificatePins: only Tether's own engine checks pins; with another engine, pin in its client " +
                "(Ktor over OkHttp: OkHttp's CertificatePinner)"
        }
        require(own == null) {
            "certificatePins: Tether must wrap the trust manager to check pins; use tls(trustManagers, keyManagers) " +
                "instead of tls(sslContext)"
        }
        val delegate = (trust ?: defaultTrustManagers()).filterIsInstance<X509TrustManager>().firstOrNull()
        require(delegate != null) { "certificatePins: no X509TrustManager among the trust managers" }
        require(delegate is X509ExtendedTrustManager) {
            "certificatePins: the trust manager must be an X509ExtendedTrustManager (as TrustManagerFactory makes " +
                "them), so that host names are verified as always"
        }
        return context(keys, arrayOf(PinningTrustManager(delegate, pins)))
    }

    private fun context(keys: Array<out KeyManager>?, trust: Array<out TrustManager>): SSLContext =
        SSLContext.getInstance("TLS").apply { init(keys, trust, null) }

    private fun defaultTrustManagers(): Array<TrustManager> =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm()).apply { init(null as KeyStore?) }.trustManagers
}
