package dev.tether.internal.lincheck

import dev.tether.TetherException
import dev.tether.internal.RawFrame
import dev.tether.internal.nio.FrameHandOff
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions
import org.jetbrains.lincheck.datastructures.Operation
import org.jetbrains.lincheck.datastructures.Validate
import org.junit.jupiter.api.Test
import java.util.concurrent.atomic.AtomicBoolean

/**
 * Model-checked (Lincheck): the NIO session's hand-off of parsed frames from the loop to the reader
 * ([FrameHandOff]). The loop adds frames and a failure; the reader receives, suspending when nothing is queued; the
 * loop also runs the reader's requests to read again. Every interleaving must match a sequential order
 * of these operations: so no frame is lost, duplicated or reordered, the failure comes only after every frame added
 * before it, and a waiting reader is woken by each frame and by the failure (a lost wake-up shows as a receive that
 * stays suspended where the sequential order resumes it). [validate] checks the backpressure: once the reader has
 * caught up and the loop has run its requests, reading is not left stopped.
 *
 * Waters 2 and 1, so that a few frames stop and restart reading.
 */
class FrameHandOffLincheckTest {
    private val reading = AtomicBoolean(true)
    private val resumeRequested = AtomicBoolean()
    private var next = 0

    private val handOff = object : FrameHandOff(highWater = 2, lowWater = 1) {
        override fun stopReading() = reading.set(false)
        override fun requestResume() = resumeRequested.set(true)
        override val inLoop: Boolean get() = false
    }

    /**
     * The loop parsed a frame (frames are numbered in the order added; the loop is one thread). Also while reading is
     * stopped: one read may hold more frames than the high water, and a stop takes effect only at the next read, so
     * stopping is a request to the socket, which [validate] checks is always undone in time.
     */
    @Operation(nonParallelGroup = "loop")
    fun add() {
        handOff.add(RawFrame(RawFrame.TEXT, true, 0, byteArrayOf(next++.toByte())))
    }

    /** The socket ended. */
    @Operation(nonParallelGroup = "loop")
    fun fail() = handOff.fail(TetherException.ConnectionLost("gone", byPeer = true))

    /** The loop runs a request to read again, as `NioSession.requestResume` posts it. */
    @Operation(nonParallelGroup = "loop")
    fun runLoopTasks() {
        if (resumeRequested.getAndSet(false) && handOff.unpause()) reading.set(true)
    }

    /**
     * The reader: the next frame's number, or -1 for the failure. Not cancelled at its suspension (Lincheck's
     * cancellation model assumes one suspension per operation; a receive woken for a frame that another poll took
     * suspends again): a receive that stays suspended must be one the sequential order leaves suspended too.
     */
    @Operation(nonParallelGroup = "reader", cancellableOnSuspension = false)
    suspend fun receive(): Int = try {
        handOff.receive().data[0].toInt()
    } catch (e: TetherException) {
        -1
    }

    @Validate
    fun validate() {
        runLoopTasks()
        if (handOff.readerWaits) {
            check(handOff.backlog == 0) { "the reader waits while ${handOff.backlog} frames are queued" }
            check(reading.get()) { "the reader waits for frames while reading is stopped" }
        }
    }

    private companion object {
        /** `-Dtether.lincheck.iterations=N` searches longer. */
        val ITERATIONS = System.getProperty("tether.lincheck.iterations")?.toInt() ?: 30
    }

    @Test
    fun modelCheck() = ModelCheckingOptions()
        // the two races it found, explored first in every run (random scenarios rarely hit them: the second needs a
        // switch inside the reader's suspension)
        .addCustomScenario {
            // the end raced the reader's last look: the frame added just before the failure was dropped
            parallel {
                thread { actor(FrameHandOffLincheckTest::receive); actor(FrameHandOffLincheckTest::receive) }
                thread { actor(FrameHandOffLincheckTest::add); actor(FrameHandOffLincheckTest::fail) }
            }
        }
        .addCustomScenario {
            // the loop stopped reading after the reader's last look, then found no waiter to wake: both waited forever
            initial { actor(FrameHandOffLincheckTest::add) }
            parallel {
                thread { repeat(3) { actor(FrameHandOffLincheckTest::receive) } }
                thread { actor(FrameHandOffLincheckTest::add) }
            }
        }
        .iterations(ITERATIONS)
        .invocationsPerIteration(1_000)
        .threads(2)
        .actorsPerThread(4)
        .check(this::class)
}
