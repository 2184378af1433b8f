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
        Duration.ZERO.readable() shouldBe "0 ms"
        300.microseconds.readable() shouldBe "<1 ms"
        99_746_095.nanoseconds.readable() shouldBe "100 ms"
        250.milliseconds.readable() shouldBe "250 ms"
        999.6.milliseconds.readable() shouldBe "1 s"
        1.seconds.readable() shouldBe "1 s"
        1500.milliseconds.readable() shouldBe "1.5 s"
        9.96.seconds.readable() shouldBe "10 s"
        30.seconds.readable() shouldBe "30 s"
        59.7.seconds.readable() shouldBe "1 min"
        125.seconds.readable() shouldBe "2 min 5 s"
        10.minutes.readable() shouldBe "10 min"
        90.minutes.readable() shouldBe "1 h 30 min"
        2.hours.readable() shouldBe "2 h"
        (-250).milliseconds.readable() shouldBe "-250 ms"
        Duration.INFINITE.readable() shouldBe "forever"
    }
})
