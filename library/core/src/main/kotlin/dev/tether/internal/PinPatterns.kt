package dev.tether.internal

import java.util.Base64

/** One `pin(hostPattern, pins…)` of `certificatePins`, checked when it was added. */
internal class PinEntry(val pattern: String, val pins: List<String>) {
    fun matches(host: String): Boolean = PinPatterns.hostMatches(pattern, host)
}

/**
 * The entries of a `CertificatePins`. A value class, so that the constructor taking it is synthetic in bytecode:
 * Java cannot make a `CertificatePins`, which users only receive.
 */
@JvmInline
internal value class PinEntries(val list: List<PinEntry>)

/** Host patterns and pins as `CertificatePins` documents them (OkHttp's rules). */
internal object PinPatterns {
    fun hostMatches(pattern: String, host: String): Boolean {
        val h = host.lowercase().trimEnd('.')
        return when {
            pattern.startsWith("**.") -> pattern.substring(3).let { base -> h == base || h.endsWith(".$base") }
            pattern.startsWith("*.") -> pattern.substring(2).let { base ->
                h.endsWith(".$base") && h.length > base.length + 1 && '.' !in h.substring(0, h.length - base.length - 1)
            }
            else -> h == pattern
        }
    }

    /** A checked entry; fails with an [IllegalArgumentException] naming the option and the bad pattern or pin. */
    fun entry(hostPattern: String, pins: List<String>): PinEntry {
        val pattern = hostPattern.trim().lowercase().trimEnd('.')
        val base = pattern.removePrefix("**.").removePrefix("*.")
        require(base.isNotEmpty() && base.none { it == '*' || it == '/' || it.isWhitespace() } && base.split('.').none { it.isEmpty() }) {
            "certificatePins: '$hostPattern' is not a host pattern (example.com, *.example.com or **.example.com)"
        }
        require(pins.isNotEmpty()) { "certificatePins: $hostPattern needs at least one pin (and a backup)" }
        pins.forEach { pin ->
            val hash = pin.removePrefix("sha256/")
            val bytes = if (hash == pin) null else runCatching { Base64.getDecoder().decode(hash) }.getOrNull()
            require(bytes != null && bytes.size == 32) {
                "certificatePins: '$pin' for $hostPattern is not a pin: expected sha256/ and the Base64 of 32 bytes"
            }
        }
        return PinEntry(pattern, pins.distinct())
    }
}
