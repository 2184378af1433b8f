package dev.tether.internal

import java.util.Properties

/** Tether's version, from the jar (filtered by Maven at build time). */
internal object TetherVersion {
    val value: String by lazy {
        val p = Properties()
        TetherVersion::class.java.getResourceAsStream("/dev/tether/tether-version.properties")?.use { p.load(it) }
        p.getProperty("version")?.takeIf { !it.startsWith("\${") } ?: "dev"
    }

    val userAgent: String get() = "tether/$value"
}
