package dev.tether.internal

import dev.tether.Decision

/**
 * What callers ask of a connection. Every command goes through one queue that only the supervisor reads, in every
 * state, so none is lost or applied to a state that has already passed (`docs/lifecycle.md` has the table).
 */
internal sealed class Command {
    /** `close()`, `outgoing.close()` or a [dev.tether.Frame.Close] sent by the application. Wins in every state. */
    class Close(val code: Int, val reason: String) : Command()

    /** `reconnect()`. */
    object Reconnect : Command()

    /** `pause()`, `resume()`, the gate, idleness or new activity changed: the supervisor re-reads whether to run. */
    object Lifecycle : Command()

    /**
     * A decision a hook took about a non-fatal error (a hook that threw, a dropped frame) in [epoch]: the session
     * (or the time between sessions) in which the error happened. Close applies in every state; the others only
     * while that epoch lasts.
     */
    class Decide(val decision: Decision, val epoch: Int) : Command()
}
