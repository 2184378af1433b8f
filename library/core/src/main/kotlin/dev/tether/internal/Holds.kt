package dev.tether.internal

import dev.tether.PauseReason

/**
 * What holds a connection down, and so whether it may run now: the application's `pause()`, a closed gate
 * (`connectWhen`), or idleness (`idleTimeout`). [reason] answers "may we run now, and why not" (null: run). Also the
 * flag that starts the attempt count again when a hold ends (resume, the gate opening, traffic after idleness).
 *
 * Any thread changes a hold (volatile fields, the latest write wins); [Control] queues a `Lifecycle` command after
 * each change, and the supervisor looks at [reason] after it reads a command, so no change is lost between its look
 * and its next wait.
 */
internal class Holds(gated: Boolean) {
    @Volatile
    private var pausedByUser = false

    @Volatile
    private var gateOpen = !gated

    @Volatile
    private var idle = false

    /** Set when the attempt count must start again. */
    @Volatile
    private var resetAttempts = false

    /** Why the connection must not run now, or null: it may. The application's pause first, then the gate, then idleness. */
    fun reason(): PauseReason? = when {
        pausedByUser -> PauseReason.PAUSED
        !gateOpen -> PauseReason.GATE
        idle -> PauseReason.IDLE
        else -> null
    }

    /** `pause()`. */
    fun pause() {
        pausedByUser = true
    }

    /** `resume()`: ends the application's pause and an idle one; the attempt count starts again. */
    fun resume() {
        pausedByUser = false
        idle = false
        resetAttempts = true
    }

    /** The gate's value: opening starts the attempt count again (e.g. the network came back). */
    fun gate(open: Boolean) {
        if (open && !gateOpen) resetAttempts = true
        gateOpen = open
    }

    /** The connection saw no application traffic for `idleTimeout`. */
    fun wentIdle() {
        idle = true
    }

    /** Application traffic: ends an idle hold (true if there was one; the attempt count then starts again). */
    fun activity(): Boolean {
        if (!idle) return false
        idle = false
        resetAttempts = true
        return true
    }

    /** True (once) when the attempt count must start again. */
    fun takeReset(): Boolean {
        if (!resetAttempts) return false
        resetAttempts = false
        return true
    }

    /** The attempt count starts again at the next attempt (after a pause). */
    fun resetLater() {
        resetAttempts = true
    }
}
