package dev.tether.internal

import dev.tether.CloseCodes
import dev.tether.ConnectionEvent
import dev.tether.ConnectionState
import dev.tether.Frame
import dev.tether.OfflinePolicy
import dev.tether.TetherException
import dev.tether.TetherException.SendFailure
import dev.tether.WebSocketClientConfig
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.launch
import kotlin.time.Duration
import kotlin.time.TimeSource

/**
 * The application's ways in ([dev.tether.Connection.send] and [dev.tether.Connection.enqueue], with an optional time
 * to live): refused at once when the client has ended or is offline under `REJECT`; first of all from `onConnect`;
 * written at once from the caller when the live session can ([SessionRunner.tryWriteNow]); otherwise queued in the
 * [Outbox], with a deadline in [Expiry] when it has a time to live.
 *
 * Runs on the sender's thread and coroutine; any number at once. It reads what the supervisor [published] (never
 * writes it) and owns the expiry sweeper (`tether-expiry`, started with the first frame that has a deadline, stopped by
 * [stopExpiry] at the end).
 */
internal class SendPath(
    private val config: WebSocketClientConfig,
    private val published: Published,
    private val outbox: Outbox,
    private val hooks: HookRunner,
    private val events: ConnectionEvents,
    private val control: Control,
    /** Application traffic, with `idleTimeout` only. */
    private val activity: Activity?,
    private val timeSource: TimeSource.WithComparableMarks,
) {
    /** The connection's scope, for the expiry sweeper: set as the connection starts, before anyone can send. */
    lateinit var scope: CoroutineScope

    /** Made with the first frame that has a time to live: only connections that use one pay for it. */
    @Volatile
    private var expiryOrNull: Expiry? = null

    private val expiry: Expiry
        get() = expiryOrNull ?: synchronized(this) {
            expiryOrNull ?: Expiry(timeSource, start = ::startExpiry, expired = { outbox.expired(it) }).also { expiryOrNull = it }
        }

    /** The expiry sweeper, once a frame with a time to live was queued; it loops until [stopExpiry] cancels it. */
    @Volatile
    private var expiryJob: Job? = null

    /** Set under the lock by [stopExpiry]: a send racing the end then starts no sweeper. */
    private var expiryStopped = false

    private fun startExpiry() = synchronized(this) {
        if (!expiryStopped) expiryJob = scope.launch(CoroutineNames.EXPIRY) { expiry.run() }
    }

    /** Stops the expiry sweeper for good (it sleeps until the next deadline for ever: the connection would never end). */
    suspend fun stopExpiry() {
        synchronized(this) { expiryStopped = true }
        expiryJob?.cancelAndJoin()
    }

    /** The outbox took [element] from a writer of `outgoing`: traffic, and the default time to live applies. */
    fun queuedFromOutgoing(element: Queued) {
        activity?.seen()
        config.outboxTimeToLive?.let { expiry.add(element, it) }
    }

    /** See [dev.tether.Connection.send]; a close frame is the caller's to turn into a close. */
    suspend fun send(frame: Frame, timeToLive: Duration?) {
        if (published.terminated) refuse(frame, SendFailure.CLOSED)
        if (config.offlinePolicy == OfflinePolicy.REJECT && published.current !is ConnectionState.Connected) {
            refuse(frame, SendFailure.NOT_CONNECTED)
        }
        requireTimeToLive(timeToLive)
        activity?.seen()
        if (hooks.callerIsOnConnect()) return hooks.enqueueFirst(frame).await() // it goes first, at once
        published.live?.let { if (it.tryWriteNow(frame)) return }
        val tracked = Tracked(frame, events)
        if (timeToLive != null) expiry.add(tracked, timeToLive)
        try {
            outbox.enqueue(tracked)
            tracked.written.await()
        } catch (e: CancellationException) {
            tracked.cancelled = true // not written yet: the writer will skip it
            throw e
        }
    }

    /** See [dev.tether.Connection.enqueue]: never suspends; a close frame becomes a close request. */
    fun enqueue(frame: Frame, timeToLive: Duration?): Deferred<Unit> {
        requireTimeToLive(timeToLive)
        if (frame is Frame.Close) {
            CloseCodes.requireValid(frame.code, frame.reason)
            control.requestClose(frame.code, frame.reason)
            return CompletableDeferred(Unit)
        }
        if (!published.terminated && hooks.callerIsOnConnect()) return hooks.enqueueFirst(frame)
        val tracked = Tracked(frame, events)
        activity?.seen()
        when {
            published.terminated -> tracked.fail(SendFailure.CLOSED)
            config.offlinePolicy == OfflinePolicy.REJECT && published.current !is ConnectionState.Connected ->
                tracked.fail(SendFailure.NOT_CONNECTED)
            published.live?.tryWriteNow(tracked) == true -> Unit
            else -> {
                if (timeToLive != null) expiry.add(tracked, timeToLive)
                outbox.enqueueNow(tracked)
            }
        }
        return tracked.written
    }

    private fun requireTimeToLive(timeToLive: Duration?) =
        require(timeToLive == null || timeToLive.isPositive()) { "timeToLive must be positive or null, was $timeToLive" }

    /** A send refused before it was queued: told to the event stream, thrown to the sender. */
    private fun refuse(frame: Frame, reason: SendFailure): Nothing {
        events.emit { ConnectionEvent.SendFailed(it, reason) }
        throw TetherException.SendFailed(frame, reason)
    }
}
