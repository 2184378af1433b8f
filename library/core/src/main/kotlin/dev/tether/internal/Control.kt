package dev.tether.internal

import dev.tether.Decision
import dev.tether.PauseReason
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.selects.SelectClause1
import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.atomic.AtomicReference
import kotlin.time.ComparableTimeMark
import kotlin.time.Duration
import kotlin.time.TimeSource

/**
 * What the application asks of a connection's supervisor, and what holds it: the command queue, the holds ([Holds]:
 * pause, gate, idleness) and the close request. Callers on any thread change a hold, then queue [Command.Lifecycle]; the
 * supervisor reads a command, then looks at the holds ([verdict]): so a change is never lost between the supervisor's
 * look and its next wait. A close is queued after its deadline is marked, so the supervisor and every closing step see
 * the same deadline ([closeBudget]).
 *
 * What a command does depends on the supervisor's [Phase] ([verdict]), as `docs/lifecycle.md`'s tables say:
 *
 * | command                                          | connecting | connected | deciding  | paused | down | backing off |
 * |--------------------------------------------------|------------|-----------|-----------|--------|------|-------------|
 * | `Close`, `Decide(Close)`                         | stop       | stop      | stop      | stop   | stop | stop        |
 * | `Reconnect`                                      | –          | go        | go        | –      | go   | go          |
 * | `Lifecycle`, a hold is on                        | hold       | hold      | go        | –      | go   | go          |
 * | `Lifecycle`, nothing holds                       | –          | –         | –         | –      | –    | go          |
 * | `Decide(StayDown)`, this epoch                   | stay down  | stay down | stay down | –      | –    | stay down   |
 * | `Decide(Reconnect / ReconnectAfter)`, this epoch | –          | decided   | –         | –      | go   | –           |
 *
 * "go" connects now, from the loop's top, which pauses first while a hold is on (connected: the session closes
 * without waiting for the server, and the disconnect hook decides); "hold" stops connecting, or closes the session,
 * and pauses; "decided" closes the session and acts on the hook's decision; "–" ignores the command (paused, the
 * supervisor then looks at the holds again). Model-checked with the supervisor's loop (`ControlLincheckTest`).
 */
internal class Control(
    private val timeSource: TimeSource.WithComparableMarks,
    gated: Boolean,
) {
    private val commands = Channel<Command>(Channel.UNLIMITED)

    /** The holds (pause, gate, idleness) and the attempt-count reset. */
    private val holds = Holds(gated)

    /** When the first close was asked for: the close timeout runs from there. */
    private val closeAsked = AtomicReference<ComparableTimeMark?>()

    /** `reconnect()` calls so far, and how many the supervisor had seen when it went Down. */
    private val reconnectCalls = AtomicLong()

    @Volatile
    private var reconnectsSeenWhenDown = 0L

    /** Where the supervisor is, for [verdict]. */
    enum class Phase { CONNECTING, CONNECTED, DECIDING, PAUSED, DOWN, BACKING_OFF }

    /** What a command means to the supervisor in its phase (see the table above). */
    sealed class Verdict {
        /** End the client with [code] and [reason] (from `close()` or a hook's `Decision.Close`). */
        class Stop(val code: Int, val reason: String) : Verdict()

        /** Connect now (from the loop's top). */
        object Go : Verdict()

        /** A hold ([reason]) is on: stop connecting, or close the session, and pause. */
        class Hold(val reason: PauseReason) : Verdict()

        /** A hook decided `StayDown` for this epoch. */
        object StayDown : Verdict()

        /** A hook's `Reconnect` or `ReconnectAfter` for this epoch, while connected: close, then act on [decision]. */
        class Decided(val decision: Decision) : Verdict()

        /** Nothing to do here. */
        object Ignore : Verdict()
    }

    // ---- callers, any thread ----

    /** `pause()`. */
    fun pause() {
        holds.pause()
        commands.trySend(Command.Lifecycle)
    }

    /** `resume()`: ends the application's pause and an idle one; the attempt count starts again. */
    fun resume() {
        holds.resume()
        commands.trySend(Command.Lifecycle)
    }

    /** The gate's value changed (its collector, one coroutine): opening starts the attempt count again. */
    fun gate(open: Boolean) {
        holds.gate(open)
        commands.trySend(Command.Lifecycle)
    }

    /** The session found the connection idle for `idleTimeout`: the supervisor then pauses it. */
    fun wentIdle() {
        holds.wentIdle()
        commands.trySend(Command.Lifecycle)
    }

    /** Application traffic: ends an idle pause. */
    fun activity() {
        if (holds.activity()) commands.trySend(Command.Lifecycle)
    }

    /** `reconnect()`. */
    fun reconnect() {
        reconnectCalls.incrementAndGet()
        commands.trySend(Command.Reconnect)
    }

    /** A close (`close()`, `outgoing.close()`, a close frame sent): the first marks the deadline. */
    fun requestClose(code: Int, reason: String) {
        closeAsked.compareAndSet(null, timeSource.markNow())
        commands.trySend(Command.Close(code, reason))
    }

    /** A hook's decision about a non-fatal error in the epoch the command carries. */
    fun decide(command: Command.Decide) {
        commands.trySend(command)
    }

    /** True once a close was asked for. */
    val closing: Boolean get() = closeAsked.get() != null

    /** The time left until the close deadline ([closeTimeout] in full when no close was asked for). */
    fun closeBudget(closeTimeout: Duration): Duration {
        val asked = closeAsked.get() ?: return closeTimeout
        return (closeTimeout - asked.elapsedNow()).coerceAtLeast(Duration.ZERO)
    }

    /** Why the connection must not run now, or null. */
    fun holdReason(): PauseReason? = holds.reason()

    /** True when no `reconnect()` came since the supervisor went Down: `awaitConnected` then fails at once. */
    val downUntouched: Boolean get() = reconnectCalls.get() == reconnectsSeenWhenDown

    // ---- the supervisor ----

    /** The queue, for the supervisor's (and the connected session's) `select`. */
    val onCommand: SelectClause1<Command> get() = commands.onReceive

    /** The next command, waiting for one. */
    suspend fun next(): Command = commands.receive()

    /** The next command if one is queued (for tests). */
    fun poll(): Command? = commands.tryReceive().getOrNull()

    /** True (once) when the attempt count must start again. */
    fun takeReset(): Boolean = holds.takeReset()

    /** The attempt count starts again at the next attempt (after a pause). */
    fun resetLater() = holds.resetLater()

    /** The supervisor goes Down: `reconnect()` calls from now on count for [downUntouched]. */
    fun goingDown() {
        reconnectsSeenWhenDown = reconnectCalls.get()
    }

    /** What [cmd] means in [phase] when the supervisor is in epoch [epoch] (the table above). */
    fun verdict(cmd: Command, phase: Phase, epoch: Int): Verdict = when (cmd) {
        is Command.Close -> Verdict.Stop(cmd.code, cmd.reason)
        Command.Reconnect -> if (phase == Phase.CONNECTING || phase == Phase.PAUSED) Verdict.Ignore else Verdict.Go
        Command.Lifecycle -> when (phase) {
            Phase.PAUSED -> Verdict.Ignore // it looks at the holds itself
            Phase.BACKING_OFF -> Verdict.Go // held: the loop's top pauses; released: connect now, afresh
            Phase.CONNECTING, Phase.CONNECTED -> holdReason()?.let { Verdict.Hold(it) } ?: Verdict.Ignore
            Phase.DECIDING, Phase.DOWN -> if (holdReason() != null) Verdict.Go else Verdict.Ignore
        }
        is Command.Decide -> when (val d = cmd.decision) {
            is Decision.Close -> Verdict.Stop(d.code, d.reason)
            else -> when {
                cmd.epoch != epoch || phase == Phase.PAUSED -> Verdict.Ignore
                d is Decision.StayDown -> if (phase == Phase.DOWN) Verdict.Ignore else Verdict.StayDown
                d is Decision.Reconnect || d is Decision.ReconnectAfter -> when (phase) {
                    Phase.DOWN -> Verdict.Go
                    Phase.CONNECTED -> Verdict.Decided(d)
                    else -> Verdict.Ignore
                }
                else -> Verdict.Ignore
            }
        }
    }
}
