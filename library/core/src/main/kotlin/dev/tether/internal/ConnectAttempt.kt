package dev.tether.internal

import dev.tether.ConnectContext
import dev.tether.ConnectRequest
import dev.tether.ConnectionState
import dev.tether.TetherException
import dev.tether.WebSocketClientConfig
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.selects.select
import kotlinx.coroutines.withTimeout
import java.util.concurrent.atomic.AtomicReference

/** How a connect attempt ended. */
internal sealed class Outcome {
    class Ok(val session: TransportSession) : Outcome()
    class Failed(val error: TetherException) : Outcome()
    class Stopped(val closed: ConnectionState.Closed) : Outcome()
    class Down(val cause: TetherException?) : Outcome()

    /** Paused (by the application, the gate or idleness) while connecting. */
    object Held : Outcome()
}

/**
 * One connect attempt, for the [Supervisor]: the connect provider, the upgrade through the [Transport], all within
 * `connectTimeout`, in a child coroutine (`tether-connect`) while the supervisor's coroutine keeps reading [Control]'s
 * commands (the connecting column of its table). The session an attempt opened never leaks: an attempt that is
 * cancelled or times out just as the engine answers closes it. Made for each attempt, so an idle connection does not
 * hold one.
 */
internal class ConnectAttempt(
    private val config: WebSocketClientConfig,
    private val control: Control,
    private val log: TetherLog,
    private val events: ConnectionEvents,
    /** The frame trace, with `traceFrames` only. */
    private val trace: FrameTrace?,
) {
    /** Connects, reading commands meanwhile: a close (or a hook's StayDown for [epoch]) cancels the attempt. */
    @OptIn(ExperimentalCoroutinesApi::class) // getCompleted
    suspend fun run(transport: Transport, attempt: Int, scope: CoroutineScope, epoch: Int): Outcome {
        // The session the engine opened, as soon as it did: an attempt cancelled (or timed out) just as the engine
        // hands it back completes without it, and it must then be closed here, or its socket stays open for good.
        val opened = AtomicReference<TransportSession?>()
        val pending = scope.async(CoroutineNames.CONNECT) {
            try {
                Outcome.Ok(connectOnce(transport, attempt, scope, opened))
            } catch (e: TetherException) {
                opened.getAndSet(null)?.abort() // the connect timeout ran out just as the engine answered
                Outcome.Failed(e)
            }
        }
        pending.invokeOnCompletion { cause -> if (cause != null) opened.getAndSet(null)?.abort() }
        while (true) {
            val outcome = select<Outcome?> {
                pending.onAwait { it }
                control.onCommand { cmd ->
                    when (val v = control.verdict(cmd, Control.Phase.CONNECTING, epoch)) {
                        is Control.Verdict.Stop -> Outcome.Stopped(ConnectionState.Closed(v.code, v.reason, null))
                        is Control.Verdict.Hold -> Outcome.Held
                        Control.Verdict.StayDown -> Outcome.Down(null)
                        Control.Verdict.Go, is Control.Verdict.Decided, Control.Verdict.Ignore -> null // already connecting
                    }
                }
            } ?: continue
            if (outcome is Outcome.Stopped || outcome is Outcome.Down || outcome is Outcome.Held) {
                pending.cancel()
                (runCatching { pending.getCompleted() }.getOrNull() as? Outcome.Ok)?.session?.abort()
            }
            return outcome
        }
    }

    private suspend fun connectOnce(
        transport: Transport,
        attempt: Int,
        scope: CoroutineScope,
        opened: AtomicReference<TransportSession?>,
    ): TransportSession {
        val defaults = ConnectRequest(config.url, config.headers, config.subprotocols)
        var url = defaults.url
        try {
            return withTimeout(config.connectTimeout) {
                val request = config.connectProvider?.let { provider ->
                    try {
                        provider(ConnectContext(attempt, defaults))
                    } catch (e: CancellationException) {
                        throw e
                    } catch (e: Throwable) {
                        throw TetherException.HandlerFailed("connectWith", e)
                    }
                } ?: defaults
                url = request.url
                // the log line's prefix names the configured URL: only a different one (from a connect provider) is told
                log.info("connecting" + (if (request.url != config.url) " to ${Redaction.url(request.url)}" else "") + " (attempt $attempt)")
                trace?.request(request.url, request.headers)
                val session = transport.open(request, scope)
                opened.set(session)
                trace?.response(session.handshake.status, session.handshake.headers)
                ObservedSession(session, trace, events)
            }
        } catch (e: TimeoutCancellationException) {
            throw TetherException.ConnectFailed(Redaction.url(url), TetherException.ConnectFailure.TIMEOUT, e)
        }
    }
}
