package dev.tether.internal

import dev.tether.TetherException.SendFailure

/**
 * The writer's batch: what it took from the outbox and handed to the session since the last flush, each with the
 * engine's [WriteMark] behind it (null where the engine cannot tell). An entry is an outbox element (see
 * [Outbox.frameOf]): a plain [dev.tether.Frame], or a [Queued] one ([Tracked] from `send`/`enqueue`, [Counted] from
 * `outgoing`).
 * The writer's coroutine only; reused from batch to batch, so it grows only when used.
 */
internal class WriteBatch(private val outbox: Outbox, private val progress: WriteProgress?) {
    private val elements = ArrayList<Any>()
    private val marks = ArrayList<WriteMark?>()

    /**
     * [element] is about to be handed to the session: it belongs to the batch from now on, so a hand-over that fails
     * reports it lost. Then [handedOver].
     */
    fun add(element: Any) {
        elements.add(element)
    }

    /** The element last [add]ed is on the session's queue: the mark behind it. It goes out with this batch's flush. */
    fun handedOver() {
        marks.add(progress?.mark())
    }

    /** The batch was flushed: every sender learns its frame was written. */
    fun written() {
        for (element in elements) complete(element)
        clear()
    }

    /**
     * The writer stopped (the connection died, or the close deadline cut it off) with this batch handed to the session
     * but not known to be written. A frame whose mark says it reached the socket is written, as it would have been
     * reported a moment later; each other sender is told it was not written (a plain frame via `onError`). So a
     * frame reported failed never reached the server.
     */
    fun lost() {
        // a write in progress may have put frames on the socket without marking them yet, and a mark queued as the
        // socket closed may never have been taken up: the engine settles its marks first
        if (marks.any { it != null && !it.done }) progress?.settle()
        elements.forEachIndexed { i, element ->
            if (marks.getOrNull(i)?.done == true) complete(element) else outbox.dropped(element, SendFailure.CONNECTION_LOST)
        }
        clear()
    }

    private fun complete(element: Any) {
        (element as? Tracked)?.written?.complete(Unit)
        outbox.finished(element)
    }

    private fun clear() {
        elements.clear()
        marks.clear()
    }
}
