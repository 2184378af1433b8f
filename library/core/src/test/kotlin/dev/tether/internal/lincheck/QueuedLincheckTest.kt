package dev.tether.internal.lincheck

import dev.tether.internal.Counted
import dev.tether.internal.Queued
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions
import org.jetbrains.lincheck.datastructures.Operation
import org.junit.jupiter.api.Test

/**
 * Model-checked (Lincheck): a queued frame is taken by the writer or expires, exactly one of the two, whatever the
 * interleaving of the writer's [Queued.take] and the expiry sweeper's [Queued.expire]. This is what keeps a frame
 * from being both written and reported EXPIRED (issue 21's time-to-live paths). Every interleaving of the operations
 * below must match some sequential order of them.
 */
class QueuedLincheckTest {
    private val queued: Queued = Counted(dev.tether.Frame.Text("x"))

    @Operation
    fun take(): Int = queued.take()

    @Operation
    fun expire(): Boolean = queued.expire()

    @Operation
    fun taken(): Boolean = queued.isTaken

    @Operation
    fun expired(): Boolean = queued.isExpired

    @Test
    fun modelCheck() = ModelCheckingOptions().iterations(30).invocationsPerIteration(1_000).check(this::class)
}
