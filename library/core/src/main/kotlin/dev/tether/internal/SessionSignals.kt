package dev.tether.internal

import dev.tether.Decision
import dev.tether.Frame
import dev.tether.PauseReason
import dev.tether.TetherException
import kotlinx.coroutines.CompletableDeferred

/** What ended a session first. */
internal sealed class Ending {
    class PeerClosed(val close: ReceivedClose) : Ending()
    class Violation(val error: TetherException, val code: Int, val engineSent: Boolean) : Ending()
    class Lost(val error: TetherException) : Ending()

    /**
     * Tether closes: [final] for a close of the client, else a decision after which the supervisor goes on
     * ([pausedFor]: a pause, the gate or idleness, after which it waits to run again).
     */
    class Local(
        val code: Int,
        val reason: String,
        val decision: Decision,
        val final: Boolean,
        val pausedFor: PauseReason? = null,
    ) : Ending()

    /** `reconnect()`: the link is suspect, so no closing handshake is awaited. */
    object Drop : Ending()
}

/**
 * The one-shot signals a session's coroutines (reader, writer, keepalive, direct writers, the closing step) tell each
 * other by; each is a [CompletableDeferred] completed at most once, from any of them, and never reset (a session is
 * never reused). Who completes which:
 *
 * | signal          | completed by                                        | awaited by                          |
 * |-----------------|-----------------------------------------------------|-------------------------------------|
 * | [ending]        | reader, writer, keepalive (first one wins)          | the session runner                  |
 * | [peerClose]     | reader (the server's close frame)                   | the closing step                    |
 * | [readerDone]    | reader, when it stops                               | the closing step                    |
 * | [closeSignal]   | the closing step: write what is queued, then close  | writer                              |
 * | [stopSignal]    | the closing step: write nothing more                | writer                              |
 * | [closeFlushed]  | writer (true), or the runner at the end (false)     | a direct write whose flush failed   |
 */
internal class SessionSignals {
    val ending = CompletableDeferred<Ending>()
    val peerClose = CompletableDeferred<ReceivedClose>()
    val readerDone = CompletableDeferred<Unit>()
    val closeSignal = CompletableDeferred<Frame.Close>()
    val stopSignal = CompletableDeferred<Unit>()

    /** True once our close frame is flushed (everything handed over before it went out too); false if it never was. */
    val closeFlushed = CompletableDeferred<Boolean>()

    /** True once the session is ending: no more direct writes. */
    val closing: Boolean get() = closeSignal.isCompleted || stopSignal.isCompleted || ending.isCompleted
}
