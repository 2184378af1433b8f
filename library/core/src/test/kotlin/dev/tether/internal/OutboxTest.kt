@file:OptIn(kotlinx.coroutines.ExperimentalCoroutinesApi::class)

package dev.tether.internal

import dev.tether.BufferConfig
import dev.tether.Frame
import dev.tether.OverflowPolicy
import dev.tether.TetherException
import dev.tether.TetherException.SendFailure
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.launch

/** The outbox alone (no connection): every frame it takes ends with an outcome, and its in-flight count is exact. */
class OutboxTest : FunSpec({
    fun outbox(policy: OverflowPolicy, untracked: MutableList<Pair<Frame, SendFailure>> = ArrayList()) =
        Outbox(BufferConfig(2, policy), onUntrackedDrop = { f, r -> untracked += f to r })

    for (policy in listOf(OverflowPolicy.DROP_NEWEST, OverflowPolicy.DROP_OLDEST, OverflowPolicy.FAIL)) {
        test("enqueueNow on a full buffer with $policy: the frame that loses fails at once, nothing stays counted") {
            val box = outbox(policy)
            val all = (1..3).map { Tracked(Frame.Text("f$it")).also(box::enqueueNow) }
            val loser = when (policy) {
                OverflowPolicy.DROP_OLDEST -> all[0]
                else -> all[2]
            }
            val failure = loser.written.getCompletionExceptionOrNull()
            failure.shouldBeInstanceOf<TetherException.SendFailed>()
            failure.reason shouldBe when (policy) {
                OverflowPolicy.DROP_NEWEST -> SendFailure.DROPPED_NEWEST
                OverflowPolicy.DROP_OLDEST -> SendFailure.DROPPED_OLDEST
                else -> SendFailure.BUFFER_FULL
            }
            box.inFlight.get() shouldBe 2
            (all - loser).forEach { it.written.isCompleted shouldBe false }
        }

        test("enqueue (a suspending send's path) on a full buffer with $policy: the loser fails at once") {
            if (policy != OverflowPolicy.SUSPEND) {
                val box = outbox(policy)
                val all = (1..3).map { Tracked(Frame.Text("f$it")).also { t -> box.enqueue(t) } }
                val loser = if (policy == OverflowPolicy.DROP_OLDEST) all[0] else all[2]
                loser.written.isCompleted shouldBe true
                box.inFlight.get() shouldBe 2
            }
        }

        test("outgoing.trySend on a full buffer with $policy: the loser is reported, nothing stays counted") {
            val untracked = ArrayList<Pair<Frame, SendFailure>>()
            val box = outbox(policy, untracked)
            val results = (1..3).map { box.outgoing.trySend(Frame.Text("f$it")) }
            box.inFlight.get() shouldBe 2
            if (policy == OverflowPolicy.FAIL) {
                results[2].isFailure shouldBe true
                untracked.size shouldBe 0
            } else {
                untracked.single().second shouldBe (if (policy == OverflowPolicy.DROP_NEWEST) SendFailure.DROPPED_NEWEST else SendFailure.DROPPED_OLDEST)
            }
        }
    }

    test("a suspending send goes behind the frames enqueue left waiting beyond a full buffer (per-sender order)") {
        kotlinx.coroutines.withTimeout(10_000) {
            val box = outbox(OverflowPolicy.SUSPEND)
            val early = (1..3).map { Tracked(Frame.Text("f$it")).also(box::enqueueNow) } // f3 waits in the overflow
            val later = Tracked(Frame.Text("f4"))
            val sender = launch(start = kotlinx.coroutines.CoroutineStart.UNDISPATCHED) { box.enqueue(later) }
            val mover = launch { box.runOverflow() }
            val order = List(4) { (box.frameOf(box.channel.receive()) as Frame.Text).text }
            order shouldBe listOf("f1", "f2", "f3", "f4")
            sender.join()
            mover.cancel()
            early.size shouldBe 3
        }
    }

    // seed 20059 of the invariant harness: a count one too low let a direct write overtake a frame still queued
    test("a send cancelled while it waits for room in a full buffer leaves the count exact (SUSPEND)") {
        kotlinx.coroutines.withTimeout(10_000) {
            val box = outbox(OverflowPolicy.SUSPEND)
            repeat(2) { box.enqueueNow(Tracked(Frame.Text("f$it"))) } // the buffer (2) is full
            val tracked = Tracked(Frame.Text("waits"))
            val viaEnqueue = launch(start = kotlinx.coroutines.CoroutineStart.UNDISPATCHED) { box.enqueue(tracked) }
            val viaOutgoing = launch(start = kotlinx.coroutines.CoroutineStart.UNDISPATCHED) { box.outgoing.send(Frame.Text("waits too")) }
            box.inFlight.get() shouldBe 4
            viaEnqueue.cancel()
            viaOutgoing.cancel()
            viaEnqueue.join()
            viaOutgoing.join()
            box.inFlight.get() shouldBe 2 // the two queued frames, each counted once
            tracked.written.isCompleted shouldBe true // its sender is told (the frame was never queued)
        }
    }
})
