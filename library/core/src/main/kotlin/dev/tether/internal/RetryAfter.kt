package dev.tether.internal

import java.time.Instant
import java.time.ZonedDateTime
import java.time.format.DateTimeFormatter
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/** Parses an HTTP `Retry-After` value: delta-seconds or an HTTP-date. */
internal object RetryAfter {
    fun parse(value: String?, now: Instant = Instant.now()): Duration? {
        val v = value?.trim() ?: return null
        v.toLongOrNull()?.let { return if (it >= 0) it.seconds else null }
        return try {
            val at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant()
            (at.toEpochMilli() - now.toEpochMilli()).coerceAtLeast(0).milliseconds
        } catch (e: Exception) {
            null
        }
    }
}
