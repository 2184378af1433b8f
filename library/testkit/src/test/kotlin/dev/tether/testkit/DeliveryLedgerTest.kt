package dev.tether.testkit

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.collections.shouldContainExactlyInAnyOrder
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain

class DeliveryLedgerTest : FunSpec({
    test("a run that keeps every promise has no violation") {
        val ledger = DeliveryLedger()
        val a0 = ledger.next("a")
        val b0 = ledger.next("b")
        val a1 = ledger.next("a")
        val a2 = ledger.next("a")
        ledger.written(a0)
        ledger.accepted(b0)
        ledger.written(a1)
        ledger.failed(a2, "CLOSED")
        ledger.violations(listOf("$b0 padding", a0, "$a1 x")).shouldBeEmpty()
        ledger.size shouldBe 4
        ledger.count(DeliveryLedger.Outcome.WRITTEN) shouldBe 2
    }

    test("a failed message that arrived, out of order, twice, unknown, or with no outcome is reported") {
        val ledger = DeliveryLedger()
        val a0 = ledger.next("a")
        val a1 = ledger.next("a")
        val a2 = ledger.next("a")
        val b0 = ledger.next("b")
        ledger.written(a0)
        ledger.failed(a1, "CONNECTION_LOST")
        ledger.cancelled(a2)
        ledger.violations(listOf(a2, a0, a1, a0, "stranger")) shouldContainExactlyInAnyOrder listOf(
            "a#0 arrived after a#2: out of order",
            "a#1 was reported failed (CONNECTION_LOST) but arrived",
            "a#1 arrived after a#2: out of order",
            "a#0 arrived twice",
            "a#0 arrived after a#2: out of order",
            "unknown message arrived: stranger",
            "b#0 has no outcome",
        )
        ledger.violations(emptyList(), requireOutcomes = false).shouldBeEmpty()
        shouldThrow<AssertionError> { ledger.assertHolds(listOf(a1)) }.message shouldContain "reported failed"
    }

    test("the first outcome stands, except that a failure reported later overrides an acceptance") {
        val ledger = DeliveryLedger()
        val t = ledger.next("s")
        ledger.accepted(t)
        ledger.failed(t, "DROPPED_OLDEST")
        ledger.outcome(t) shouldBe DeliveryLedger.Outcome.FAILED
        val u = ledger.next("s")
        ledger.written(u)
        ledger.failed(u, "late")
        ledger.outcome(u) shouldBe DeliveryLedger.Outcome.WRITTEN
        shouldThrow<IllegalArgumentException> { ledger.written("s#99") }
        shouldThrow<IllegalArgumentException> { ledger.next("a b") }
    }
})
