package dev.tether.internal

import org.slf4j.Logger
import org.slf4j.LoggerFactory

/** SLF4J logging with the client's error/info toggles. Never given credentials: callers pass redacted text. */
internal class TetherLog(private val errors: Boolean, private val info: Boolean, name: String) {
    private val logger: Logger = LoggerFactory.getLogger("dev.tether.Connection")
    private val prefix = "[$name] "

    fun info(message: String) {
        if (info && logger.isInfoEnabled) logger.info(prefix + message)
    }

    fun error(message: String, e: Throwable? = null) {
        if (errors) logger.warn(prefix + message + (e?.let { ": ${it.message}" } ?: ""))
    }
}
