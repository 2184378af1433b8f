package dev.tether.internal

import org.slf4j.Logger
import org.slf4j.LoggerFactory
import java.util.concurrent.ConcurrentHashMap

/**
 * SLF4J logging with the client's error/info toggles; every line starts with `[id url]` (the connection's id and its
 * redacted URL). Errors go at WARN with their throwable. Never given credentials: callers pass redacted text.
 */
internal class TetherLog(private val errors: Boolean, private val info: Boolean, private val id: String, private val name: String) {
    private val logger: Logger = LoggerFactory.getLogger("dev.tether.Connection")

    /** The current attempt, shown after the id (`[c7-3fa2#2 url]`); set by the supervisor. */
    @Volatile
    var attempt: Int = 0

    private val prefix: String get() = "[$id#$attempt $name] "

    fun info(message: String) {
        if (info && logger.isInfoEnabled) logger.info(prefix + message)
    }

    fun error(message: String, e: Throwable? = null) {
        if (errors) logger.warn(prefix + message + (e?.let { ": ${it.message}" } ?: ""), e)
    }

    private val windows = ConcurrentHashMap<String, Window>()

    private class Window {
        var start = 0L
        var suppressed = 0
    }

    /**
     * [error], at most once per [WINDOW_NANOS] for each [key] (e.g. a dropped message per message of a flood): the
     * next line logged says how many were left out.
     */
    fun errorThrottled(key: String, message: String, e: Throwable? = null) {
        if (!errors) return
        val w = windows.computeIfAbsent(key) { Window() }
        val now = System.nanoTime()
        val leftOut = synchronized(w) {
            if (w.start != 0L && now - w.start < WINDOW_NANOS) {
                w.suppressed++
                return
            }
            w.start = now
            w.suppressed.also { w.suppressed = 0 }
        }
        error(if (leftOut > 0) "$message (and $leftOut more like it not logged)" else message, e)
    }

    private companion object {
        const val WINDOW_NANOS = 10_000_000_000L
    }
}
