package dev.tether.internal

import kotlin.math.roundToLong
import kotlin.time.Duration

/**
 * A duration as a person reads it in a log line: `0 ms`, `100 ms`, `1.5 s`, `30 s`, `2 min 5 s`, `1 h 30 min`;
 * never Kotlin's `99.746095ms`. Rounded to what a reader needs: whole milliseconds below a second, tenths of a second
 * below ten seconds, whole seconds below a minute.
 */
internal fun Duration.readable(): String {
    if (isInfinite()) return if (isPositive()) "forever" else "-forever"
    if (isNegative()) return "-" + (-this).readable()
    val ms = inWholeMicroseconds / 1000.0
    return when {
        ms < 1000 -> {
            val whole = ms.roundToLong()
            if (whole == 0L && ms > 0) "<1 ms" else if (whole < 1000) "$whole ms" else "1 s"
        }
        ms < 10_000 -> {
            val tenths = (ms / 100).roundToLong()
            if (tenths % 10 == 0L) "${tenths / 10} s" else "${tenths / 10}.${tenths % 10} s"
        }
        ms < 60_000 -> {
            val s = (ms / 1000).roundToLong()
            if (s < 60) "$s s" else "1 min"
        }
        else -> {
            val totalSeconds = (ms / 1000).roundToLong()
            val h = totalSeconds / 3600
            val m = (totalSeconds % 3600) / 60
            val s = totalSeconds % 60
            when {
                h > 0 -> if (m > 0) "$h h $m min" else "$h h"
                s > 0 -> "$m min $s s"
                else -> "$m min"
            }
        }
    }
}
