package dev.tether.internal

import dev.tether.CloseCodes
import dev.tether.ConnectionEvent
import dev.tether.ConnectionState
import dev.tether.Decision
import dev.tether.Disconnect
import dev.tether.OfflinePolicy
import dev.tether.PauseReason
import dev.tether.TetherException
import dev.tether.TetherException.SendFailure
import dev.tether.WebSocketClientConfig
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.selects.onTimeout
import kotlinx.coroutines.selects.select
import kotlin.time.Duration
import kotlin.time.TimeSource

/**
 * The supervisor's state machine: connect ([ConnectAttempt]) → run the session ([SessionRunner]) → ask the hook →
 * back off, stay down or pause → …, until a close. It runs on one coroutine, `tether-connection`, and in every state
 * also reads [Control]'s commands (close, reconnect, the holds, a hook's decision), with [Control.verdict] as the one
 * table of what each does where (`docs/lifecycle.md`).
 *
 * Owns: the attempt count, the circuit breaker, the backoff spread of the current streak, and every field of
 * [published] (the state, the epoch, the live session). Touches nothing else but through [Control], the hooks'
 * deferred answers and the session it runs.
 */
@OptIn(ExperimentalCoroutinesApi::class) // Deferred.getCompleted, onTimeout
internal class Supervisor(
    private val config: WebSocketClientConfig,
    private val control: Control,
    private val published: Published,
    private val hooks: HookRunner,
    private val events: ConnectionEvents,
    private val log: TetherLog,
    private val outbox: Outbox,
    private val inbox: Inbox,
    private val activity: Activity?,
    /** The frame trace, with `traceFrames` only. */
    private val trace: FrameTrace?,
    private val fleet: Fleet,
    private val timeSource: TimeSource.WithComparableMarks,
    /** True once the application has taken every message handed to it (incoming or the hooks, and the read-ahead). */
    private val allTaken: () -> Boolean,
) {
    /** Failed attempts, for the circuit breaker. */
    private val circuit = CircuitBreaker(config.reconnect.circuitFailures, config.reconnect.circuitWindow, timeSource)

    /** This connection's [dev.tether.Jitter.SPREAD] factor for the current streak of attempts (drawn at attempt 1). */
    private var streakSpread = 1.0

    private sealed class Next {
        class Go(val attempt: Int) : Next()
        class Stop(val closed: ConnectionState.Closed) : Next()
    }

    /** The time left until the close deadline (a full close timeout when no close was asked for). */
    fun closeBudget(): Duration = control.closeBudget(config.closeTimeout)

    /** Runs the state machine; [scope] holds the attempts' and sessions' I/O. Returns the terminal state. */
    suspend fun run(transport: Transport, scope: CoroutineScope): ConnectionState.Closed {
        var attempt = 0
        while (true) {
            control.holdReason()?.let { reason ->
                paused(reason)?.let { return it } // a close while paused ends the client
            }
            if (control.takeReset()) attempt = 0
            hooks.attempt = attempt
            log.attempt = attempt
            published.set(
                if (attempt == 0 && published.current === published.initial) published.initial else ConnectionState.Connecting(attempt),
            )
            val next: Next = when (val outcome = ConnectAttempt(config, control, log, events, trace).run(transport, attempt, scope, published.epoch)) {
                is Outcome.Stopped -> Next.Stop(outcome.closed)
                is Outcome.Held -> Next.Go(attempt)
                is Outcome.Down -> stayDown(outcome.cause, null)
                is Outcome.Failed -> failed(outcome.error, attempt)
                is Outcome.Ok -> {
                    val result = runSession(outcome.session, attempt)
                    val d = result.disconnect
                    log.info("disconnected: ${d.code} ${d.reason} after ${d.uptime.readable()}")
                    events.emit { ConnectionEvent.Disconnected(it, d) }
                    if (d.uptime >= config.reconnect.stableAfter) attempt = 0
                    val forced = result.forced
                    when {
                        // held while connected: Paused is shown even when the hold ended during the closing
                        // handshake (lifecycle.md), then it connects afresh
                        result.pausedFor != null ->
                            paused(control.holdReason() ?: result.pausedFor)?.let { Next.Stop(it) } ?: Next.Go(attempt)
                        forced is Decision.Close -> Next.Stop(ConnectionState.Closed(d.code, d.reason, null))
                        forced == null -> decideNext(hooks.askDisconnect(d), attempt, d.cause, d)
                        else -> decideNext(CompletableDeferred(forced), attempt, d.cause, d)
                    }
                }
            }
            when (next) {
                is Next.Stop -> return next.closed
                is Next.Go -> attempt = next.attempt
            }
        }
    }

    /** A failed attempt: the circuit breaker, a server's Retry-After for the whole client, then the error hook. */
    private suspend fun failed(error: TetherException, attempt: Int): Next {
        events.emit { ConnectionEvent.ConnectFailed(it, attempt, error) }
        val failures = circuit.failed()
        if (failures != null) {
            log.error("circuit breaker open: $failures failed attempts within ${config.reconnect.circuitWindow.readable()}", error)
            return stayDown(TetherException.CircuitOpen(failures, config.reconnect.circuitWindow, error), null)
        }
        log.error("connect attempt $attempt failed", error)
        val refusal = error as? TetherException.HandshakeFailed
        val retryAfter = refusal?.retryAfter
        if (retryAfter != null && (refusal.status == 503 || refusal.status == 429)) {
            fleet.holdOff(timeSource.markNow(), retryAfter) // for every connection of this client
        }
        return decideNext(hooks.askError(error), attempt, error, null)
    }

    private suspend fun runSession(session: TransportSession, attempt: Int): SessionResult {
        val connectDone = CompletableDeferred<Unit>()
        val runner = SessionRunner(
            config = config,
            session = session,
            outbox = outbox,
            priority = hooks.priority,
            connectDone = connectDone,
            hooks = hooks,
            inbox = inbox,
            control = control,
            epoch = ++published.epoch,
            published = published,
            activity = activity,
            timeSource = timeSource,
            log = log,
            allTaken = allTaken,
        )
        published.live = runner
        published.set(ConnectionState.Connected(attempt, session.handshake))
        // the log line's prefix names the configured URL: only a different one (from a connect provider) is told
        val url = Redaction.url(session.handshake.url).takeIf { it != Redaction.url(config.url) }
        log.info("connected" + (url?.let { " to $it" } ?: "") + (session.handshake.subprotocol?.let { " ($it)" } ?: ""))
        hooks.connected(session.handshake, connectDone)
        return try {
            runner.run()
        } finally {
            published.live = null
            published.epoch++
            // what onConnect sent but could not be written belonged to that connection: its next onConnect sends again
            while (true) outbox.dropped(hooks.priority?.tryReceive()?.getOrNull() ?: break, SendFailure.CONNECTION_LOST)
        }.also {
            if (config.offlinePolicy == OfflinePolicy.REJECT) outbox.failQueued(SendFailure.NOT_CONNECTED)
        }
    }

    /**
     * Waits for a hook's [answer] while reading commands: a close ends the client at once (the hook is left to
     * finish, or is cancelled at the end), `reconnect()` connects at once.
     */
    private suspend fun decideNext(
        answer: Deferred<Decision>,
        attempt: Int,
        cause: TetherException?,
        disconnect: Disconnect?,
    ): Next {
        val myEpoch = published.epoch
        var closeAsked = false // the decision is a close() command: Closed carries the code that was asked for
        val decision: Decision = if (answer.isCompleted) {
            answer.getCompleted()
        } else {
            var d: Decision? = null
            while (d == null) {
                d = select<Decision?> {
                    answer.onAwait { it }
                    control.onCommand { cmd ->
                        when (val v = control.verdict(cmd, Control.Phase.DECIDING, myEpoch)) {
                            is Control.Verdict.Stop -> Decision.Close(v.code, v.reason).also { closeAsked = true }
                            Control.Verdict.Go -> Decision.ReconnectAfter(Duration.ZERO) // held: the loop's top pauses
                            Control.Verdict.StayDown -> Decision.StayDown
                            is Control.Verdict.Hold, is Control.Verdict.Decided, Control.Verdict.Ignore -> null
                        }
                    }
                }
            }
            d
        }
        return when (decision) {
            is Decision.Close -> Next.Stop(
                if (closeAsked) {
                    ConnectionState.Closed(decision.code, decision.reason, cause)
                } else if (disconnect == null && decision.code == CloseCodes.NORMAL && decision.reason.isEmpty()) {
                    // a plain Close() (the default with reconnect off, or a hook's) after an attempt that failed: no
                    // WebSocket existed, so no close code was sent or received
                    ConnectionState.Closed(CloseCodes.ABNORMAL, cause?.message ?: "", cause)
                } else {
                    ConnectionState.Closed(disconnect?.code ?: decision.code, disconnect?.reason ?: decision.reason, cause)
                },
            )
            is Decision.StayDown -> stayDown(cause, disconnect)
            is Decision.Reconnect, is Decision.Ignore, is Decision.ReconnectAfter -> backoff(decision, attempt, cause, disconnect)
        }
    }

    /**
     * Paused for [reason] until nothing holds the connection any more (then returns null, and the loop connects with
     * a fresh attempt count), or until a close (returns the terminal state). Shows `Paused` even when nothing holds
     * it by now (a hold that ended while the link was closing for it).
     */
    private suspend fun paused(reason: PauseReason): ConnectionState.Closed? {
        var shown = reason
        published.set(ConnectionState.Paused(shown))
        log.info("paused (${shown.name.lowercase()})")
        while (control.holdReason() != null) {
            // Reconnect while paused: resume() is the way back; Lifecycle: look again
            val v = control.verdict(control.next(), Control.Phase.PAUSED, published.epoch)
            if (v is Control.Verdict.Stop) return ConnectionState.Closed(v.code, v.reason, null)
            val now = control.holdReason() ?: break
            if (now != shown) {
                shown = now
                published.set(ConnectionState.Paused(now))
            }
        }
        control.resetLater()
        return null
    }

    private suspend fun stayDown(cause: TetherException?, disconnect: Disconnect?): Next {
        control.goingDown()
        published.set(ConnectionState.Down(cause, disconnect))
        log.info("down: not reconnecting until reconnect() is called")
        val myEpoch = published.epoch
        while (true) {
            val next = select<Next?> {
                control.onCommand { cmd ->
                    when (val v = control.verdict(cmd, Control.Phase.DOWN, myEpoch)) {
                        is Control.Verdict.Stop -> Next.Stop(ConnectionState.Closed(v.code, v.reason, cause))
                        Control.Verdict.Go -> Next.Go(0) // held: the loop's top pauses
                        is Control.Verdict.Hold, Control.Verdict.StayDown, is Control.Verdict.Decided, Control.Verdict.Ignore -> null
                    }
                }
            }
            if (next != null) return next
        }
    }

    private suspend fun backoff(decision: Decision, attempt: Int, cause: TetherException?, disconnect: Disconnect?): Next {
        val closedCode = disconnect?.code ?: CloseCodes.ABNORMAL
        val closedReason = disconnect?.reason ?: (cause?.message ?: "")
        val next = attempt + 1
        val max = config.reconnect.maxAttempts
        if (max != null && next > max) {
            log.error("giving up after $attempt reconnect attempts")
            return Next.Stop(ConnectionState.Closed(closedCode, closedReason, TetherException.ReconnectExhausted(attempt, cause)))
        }
        if (next == 1) streakSpread = config.reconnect.backoff.drawSpread(config.reconnect.random)
        val own: Duration = (decision as? Decision.ReconnectAfter)?.delay
            ?: config.reconnect.delayFor(next, streakSpread).coerceAtLeast(Duration.ZERO)
        // no shortcut for a zero delay (ReconnectAfter(ZERO), reconnect() while a hook decides): Reconnecting is told
        // first, as lifecycle.md's tables say, and the wait below ends at once
        val delay = maxOf(own, fleet.wait()) // a Retry-After another connection of this client got holds this one too
        published.set(ConnectionState.Reconnecting(next, delay, cause, disconnect))
        log.info("reconnecting in ${delay.readable()} (attempt $next)")
        val myEpoch = published.epoch
        val until = timeSource.markNow() + delay
        while (true) {
            val left = maxOf((-until.elapsedNow()).coerceAtLeast(Duration.ZERO), fleet.wait())
            val step = select<Next?> {
                control.onCommand { cmd ->
                    when (val v = control.verdict(cmd, Control.Phase.BACKING_OFF, myEpoch)) {
                        is Control.Verdict.Stop -> Next.Stop(ConnectionState.Closed(v.code, v.reason, cause))
                        // held: the loop's top pauses; released (the gate opened, resume()): connect now, afresh
                        Control.Verdict.Go -> Next.Go(next)
                        Control.Verdict.StayDown -> stayDown(cause, disconnect)
                        is Control.Verdict.Hold, is Control.Verdict.Decided, Control.Verdict.Ignore -> null
                    }
                }
                onTimeout(left) { if (fleet.wait() > Duration.ZERO) null else Next.Go(next) }
            }
            if (step != null) return step
        }
    }
}
