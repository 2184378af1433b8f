package dev.tether

import dev.tether.internal.KotlinOnly
import dev.tether.internal.PinEntries
import dev.tether.internal.PinEntry
import dev.tether.internal.PinPatterns

/**
 * Certificate pinning, as OkHttp's `CertificatePinner` does it: for hosts matching a pattern, the server's verified
 * certificate chain must contain a public key whose SHA-256 hash is one of the pins. Built in
 * [WebSocketClientBuilder.certificatePins]; immutable.
 *
 * ```kotlin
 * certificatePins {
 *     pin("feed.example.com", "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",   // the current key
 *                             "sha256/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=")   // a backup key, not yet in use
 *     pin("*.example.com", "sha256/CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC=")      // e.g. the issuing CA's key
 * }
 * ```
 *
 * **Pins.** `sha256/` and the Base64 of the SHA-256 of the certificate's `SubjectPublicKeyInfo` (what
 * `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64` prints).
 * Pin keys you control and always add a backup pin: a server that changes keys without one locks every client out.
 *
 * **Host patterns.** `example.com` matches that host only; `*.example.com` one more label (`www.example.com`, not
 * `example.com` nor `a.b.example.com`); `**.example.com` any number, zero included. IP literals match exactly.
 * Case does not matter. Every pattern that matches a host adds its pins; a host no pattern matches is not pinned.
 *
 * **The check.** After the trust manager has verified the chain and the host name (pinning never replaces that), the
 * pins are compared with the chain that was verified: from the server's certificate, through the certificates that
 * signed one another, up to the trust anchor, which the server need not send. A certificate the server sends that
 * is not on that path never satisfies a pin. No match fails the connection attempt with
 * [TetherException.ConnectFailed] of kind TLS, naming the host and the pins seen. The check runs where the trust
 * manager runs, off Tether's I/O threads.
 */
public class CertificatePins internal constructor(entries: PinEntries, kotlinOnly: KotlinOnly = KotlinOnly()) {
    private val entries: List<PinEntry> = entries.list

    /** The pins for [host] (every pattern that matches it), empty when it is not pinned. */
    public fun pinsFor(host: String): List<String> = entries.filter { it.matches(host) }.flatMap { it.pins }.distinct()

    /** True when no host is pinned. */
    public val isEmpty: Boolean get() = entries.isEmpty()

    override fun toString(): String = entries.joinToString(prefix = "CertificatePins(", postfix = ")") { "${it.pattern}: ${it.pins}" }
}

/** Builds [CertificatePins]: see there. Not thread-safe; used inside [WebSocketClientBuilder.certificatePins]. */
@TetherDsl
public class CertificatePinsBuilder internal constructor(kotlinOnly: KotlinOnly = KotlinOnly()) {
    private val entries = mutableListOf<PinEntry>()

    /**
     * Pins [hostPattern] (`example.com`, `*.example.com` or `**.example.com`) to [pins] (`sha256/<Base64>`, at least
     * one; give a backup). Fails at once with an [IllegalArgumentException] naming the bad pattern or pin.
     */
    public fun pin(hostPattern: String, vararg pins: String) {
        entries += PinPatterns.entry(hostPattern, pins.toList())
    }

    @JvmSynthetic
    internal fun build(): CertificatePins = CertificatePins(PinEntries(entries.toList()))
}
