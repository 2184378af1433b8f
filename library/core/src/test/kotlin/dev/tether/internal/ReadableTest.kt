package dev.tether.internal

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlin.time.Duration
import kotlin.time.Duration.Companion.hours
import kotlin.time.Duration.Companion.microseconds
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.minutes
import kotlin.time.Duration.Companion.nanoseconds
import kotlin.time.Duration.Companion.seconds

/** Durations in log lines read as people write them (issue 24, item 5): never `99.746095ms`. */
class ReadableTest : FunSpec({
    test("durations in log lines") {
        val cases = listOf(
            Duration.ZERO to "0 ms",
            300.microseconds to "<1 ms",
            99_746_095.nanoseconds to "100 ms",
            250.milliseconds to "250 ms",
            999.6.milliseconds to "1 s",
            1.seconds to "1 s",
            1500.milliseconds to "1.5 s",
            9.96.seconds to "10 s",
            30.seconds to "30 s",
            59.7.seconds to "1 min",
            125.seconds to "2 min 5 s",
            10.minutes to "10 min",
            90.minutes to "1 h 30 min",
            2.hours to "2 h",
            (-250).milliseconds to "-250 ms",
            Duration.INFINITE to "forever",
        )
        for ((duration, expected) in cases) duration.readable() shouldBe expected
    }
})
