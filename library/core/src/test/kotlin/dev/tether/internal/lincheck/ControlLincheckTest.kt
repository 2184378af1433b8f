package dev.tether.internal.lincheck

import dev.tether.Decision
import dev.tether.internal.Command
import dev.tether.internal.Control
import dev.tether.internal.Control.Phase
import dev.tether.internal.Control.Verdict
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions
import org.jetbrains.lincheck.datastructures.Operation
import org.jetbrains.lincheck.datastructures.Validate
import org.junit.jupiter.api.Test
import kotlin.time.TestTimeSource

/**
 * Model-checked (Lincheck): the close and command path. Callers on any thread pause, resume, flip the gate, go idle
 * or active, reconnect, close and send hooks' decisions through [Control]; one supervisor (the operations in the
 * "supervisor" group) reads the commands and acts on [Control.verdict] as `Supervisor`'s loop and the connected
 * `SessionRunner` do: connecting, connected, waiting for a hook's decision, backing off, down, paused, stopped (this
 * test's [supervisorStep] and [top] follow the loop; the verdicts are the real ones). After every interleaving,
 * [validate] lets the supervisor read what is queued, then checks the promises that path exists for: a close (or a
 * hook's `Close`) asked from anywhere always ends the client, and nothing else does; a pause is never lost (a
 * supervisor that has read its commands is paused whenever something holds it); a resume is never lost (it is never
 * paused when nothing holds it).
 */
class ControlLincheckTest {
    private val control = Control(TestTimeSource(), gated = true)

    /** Where the model supervisor is; STOPPED is the end. Read and written by the supervisor group only. */
    private var phase: Phase? = Phase.CONNECTING

    @Volatile
    private var closeAsked = false

    init {
        control.gate(true) // the gate's first value, as its collector gives it at the start
        control.poll() // and the supervisor has read it
    }

    // ---- callers, any thread ----

    @Operation
    fun pause() = control.pause()

    @Operation
    fun resume() = control.resume()

    @Operation
    fun reconnect() = control.reconnect()

    @Operation
    fun close() {
        closeAsked = true
        control.requestClose(1000, "")
    }

    /** A hook decided about a non-fatal error (epoch 0, the model's only one): close, stay down or reconnect. */
    @Operation
    fun hookDecides(close: Boolean, stayDown: Boolean) {
        if (close) closeAsked = true
        val d = if (close) Decision.Close(4000, "hook") else if (stayDown) Decision.StayDown else Decision.Reconnect
        control.decide(Command.Decide(d, 0))
    }

    /** The gate's collector: one coroutine. */
    @Operation(nonParallelGroup = "gate")
    fun gate(open: Boolean) = control.gate(open)

    /** The session's idle watch and the application's traffic. */
    @Operation
    fun idleOrActive(idle: Boolean) = if (idle) control.wentIdle() else control.activity()

    // ---- the supervisor (one coroutine) ----

    /** The loop's top: paused while something holds the connection, else connecting. */
    private fun top() {
        phase = if (control.holdReason() != null) Phase.PAUSED else Phase.CONNECTING
    }

    /** Reads one queued command (if any) and acts on it; false when it had nothing to do. */
    private fun supervisorStep(): Boolean {
        val now = phase ?: return false
        // paused, it waits for a command and looks at the holds after each (on entry too: see [top])
        val cmd = control.poll() ?: return false
        when (control.verdict(cmd, now, 0)) {
            is Verdict.Stop -> phase = null
            // connected: the session ends and the disconnect hook decides; deciding: ReconnectAfter(ZERO), whose
            // wait ends at once; down, backing off: the loop's top
            Verdict.Go -> if (now == Phase.CONNECTED) phase = Phase.DECIDING else top()
            is Verdict.Hold -> top() // connected: Paused is shown, and left at once if nothing holds it any more
            Verdict.StayDown -> {
                control.goingDown()
                phase = Phase.DOWN
            }
            is Verdict.Decided -> phase = Phase.BACKING_OFF // the session closes, then the hook's reconnect backs off
            Verdict.Ignore -> if (now == Phase.PAUSED && control.holdReason() == null) phase = Phase.CONNECTING
        }
        return true
    }

    @Operation(nonParallelGroup = "supervisor")
    fun step() {
        supervisorStep()
    }

    /** The attempt connected, or failed (then a hook decides). */
    @Operation(nonParallelGroup = "supervisor")
    fun attemptEnds(connected: Boolean) {
        if (phase == Phase.CONNECTING) phase = if (connected) Phase.CONNECTED else Phase.DECIDING
    }

    /** The session ended by itself (the server closed, the link died): a hook decides. */
    @Operation(nonParallelGroup = "supervisor")
    fun sessionEnds() {
        if (phase == Phase.CONNECTED) phase = Phase.DECIDING
    }

    /** The hook answered: back off, or stay down. */
    @Operation(nonParallelGroup = "supervisor")
    fun hookAnswers(stayDown: Boolean) {
        if (phase != Phase.DECIDING) return
        if (stayDown) control.goingDown()
        phase = if (stayDown) Phase.DOWN else Phase.BACKING_OFF
    }

    /** The backoff's wait ended. */
    @Operation(nonParallelGroup = "supervisor")
    fun backoffEnds() {
        if (phase == Phase.BACKING_OFF) top()
    }

    @Validate
    fun validate() {
        while (supervisorStep()) { } // the supervisor reads what is queued
        val held = control.holdReason()
        val at = phase
        check(closeAsked == (at == null)) { if (closeAsked) "a close was asked but the supervisor is $at" else "stopped without a close" }
        if (at != null) {
            check(at != Phase.PAUSED || held != null) { "paused though nothing holds the connection (a resume was lost)" }
            check(at == Phase.PAUSED || held == null) { "$at though held by $held (a pause was lost)" }
        }
    }

    private companion object {
        /** `-Dtether.lincheck.iterations=N` searches longer. */
        val ITERATIONS = System.getProperty("tether.lincheck.iterations")?.toInt() ?: 20
    }

    @Test
    fun modelCheck() = ModelCheckingOptions()
        .addCustomScenario {
            // a pause whose command the supervisor read before the hold was on: it would connect on, held
            parallel {
                thread { actor(ControlLincheckTest::pause) }
                thread { actor(ControlLincheckTest::step) }
            }
        }
        .addCustomScenario {
            // a resume whose command the paused supervisor read before the hold was off: it would stay paused
            initial { actor(ControlLincheckTest::pause); actor(ControlLincheckTest::step) }
            parallel {
                thread { actor(ControlLincheckTest::resume) }
                thread { actor(ControlLincheckTest::step) }
            }
        }
        .iterations(ITERATIONS)
        .invocationsPerIteration(500)
        .threads(3)
        .actorsPerThread(3)
        .check(this::class)
}
