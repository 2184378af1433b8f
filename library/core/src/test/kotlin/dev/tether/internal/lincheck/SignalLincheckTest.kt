package dev.tether.internal.lincheck

import dev.tether.internal.Signal
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions
import org.jetbrains.lincheck.datastructures.Operation
import org.junit.jupiter.api.Test

/**
 * Model-checked (Lincheck): the connection's conflated wake-up ([Signal]; the overflow mover, the expiry sweeper,
 * the watchers and the inbox wait on one each) never loses a wake-up: a signal sent while nobody waits is kept for
 * the next wait, and a waiter is woken by a signal sent while it suspends. One waiter at a time, as used.
 */
class SignalLincheckTest {
    private val signal = Signal()

    @Operation
    fun signal() = signal.signal()

    @Operation(nonParallelGroup = "waiter")
    suspend fun await() = signal.await()

    @Test
    fun modelCheck() = ModelCheckingOptions().iterations(30).invocationsPerIteration(1_000).check(this::class)
}
