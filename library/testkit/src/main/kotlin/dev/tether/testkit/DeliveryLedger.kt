package dev.tether.testkit

import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong

/**
 * Checks a client's delivery promises against what a server received: a message reported failed never arrived, no
 * message arrived twice, each sender's messages arrived in the order that sender sent them, and every message sent
 * ended with an outcome. Use it in tests of your own sending code, with [TestWebSocketServer] or [FakePhoenixServer]
 * recording what arrived:
 * ```
 * val ledger = DeliveryLedger()
 * val tag = ledger.next("worker-1")          // "worker-1#0": put it at the start of the message
 * runCatching { connection.sendText(tag) }
 *     .onSuccess { ledger.written(tag) }
 *     .onFailure { ledger.failed(tag, it.toString()) }
 * ...
 * ledger.assertHolds(server.connections.flatMap { c -> c.received.filter { it.isText }.map { it.text } })
 * ```
 * A message's tag is `sender#sequence`, optionally followed by a space and anything else (padding, a payload);
 * received messages that do not start with a tag this ledger issued are reported as unknown. Thread-safe: senders on
 * any thread may call it at once.
 */
public class DeliveryLedger {
    /** What a sender learned about one message. */
    public enum class Outcome {
        /** Sent, no outcome yet. */
        PENDING,

        /** Handed over for sending without a per-message outcome (a channel's `send`, a fire-and-forget call). */
        ACCEPTED,

        /** Reported written (it may still be lost with the connection: written is not delivered). */
        WRITTEN,

        /** Reported failed: it must never arrive. */
        FAILED,

        /** The sender cancelled the send: it may or may not have arrived, but not out of order. */
        CANCELLED,
    }

    private class Entry(val sender: String, val seq: Long) {
        @Volatile
        var outcome: Outcome = Outcome.PENDING

        @Volatile
        var detail: String = ""
    }

    private val entries = ConcurrentHashMap<String, Entry>()
    private val sequences = ConcurrentHashMap<String, AtomicLong>()

    /**
     * A new tag for the next message of [sender] (no `#` or space in it), recorded as [Outcome.PENDING]. Call it from
     * the sender itself, in the order it sends: the sequence numbers define that sender's order.
     */
    public fun next(sender: String): String {
        require('#' !in sender && ' ' !in sender) { "sender must not contain '#' or ' ': $sender" }
        val seq = sequences.computeIfAbsent(sender) { AtomicLong() }.getAndIncrement()
        val tag = "$sender#$seq"
        entries[tag] = Entry(sender, seq)
        return tag
    }

    /** Records that the message [tag] was handed over without an outcome of its own. */
    public fun accepted(tag: String): Unit = settle(tag, Outcome.ACCEPTED, "")

    /** Records that the message [tag] was reported written. */
    public fun written(tag: String): Unit = settle(tag, Outcome.WRITTEN, "")

    /** Records that the message [tag] was reported failed, with a [detail] for the report (e.g. the reason). */
    public fun failed(tag: String, detail: String): Unit = settle(tag, Outcome.FAILED, detail)

    /** Records that the sender cancelled the send of [tag]. */
    public fun cancelled(tag: String): Unit = settle(tag, Outcome.CANCELLED, "")

    private fun settle(tag: String, outcome: Outcome, detail: String) {
        val e = entries[tag] ?: throw IllegalArgumentException("not a tag of this ledger: $tag")
        synchronized(e) {
            // a failure reported later for a message only accepted (an asynchronous report) is the better knowledge
            if (e.outcome == Outcome.PENDING || (e.outcome == Outcome.ACCEPTED && outcome == Outcome.FAILED)) {
                e.outcome = outcome
                e.detail = detail
            }
        }
    }

    /** The outcome recorded for [tag]. */
    public fun outcome(tag: String): Outcome = entries[tag]?.outcome ?: throw IllegalArgumentException("not a tag of this ledger: $tag")

    /** The tags with no outcome yet, in no particular order. */
    public fun pending(): List<String> = entries.filterValues { it.outcome == Outcome.PENDING }.keys.sorted()

    /** How many messages have [outcome] now. */
    public fun count(outcome: Outcome): Int = entries.values.count { it.outcome == outcome }

    /** How many messages were given a tag, in all. */
    public val size: Int get() = entries.size

    /**
     * Every broken promise, given the messages the server [received] (their text, in arrival order; messages of
     * several connections concatenated in the order the connections were made). Empty when all hold. With
     * [requireOutcomes], a message still [Outcome.PENDING] is one too.
     */
    @JvmOverloads
    public fun violations(received: List<String>, requireOutcomes: Boolean = true): List<String> {
        val problems = ArrayList<String>()
        val seen = HashSet<String>()
        val last = HashMap<String, Long>()
        for (message in received) {
            val tag = message.substringBefore(' ')
            val e = entries[tag]
            if (e == null) {
                problems += "unknown message arrived: ${message.take(60)}"
                continue
            }
            if (!seen.add(tag)) problems += "$tag arrived twice"
            if (e.outcome == Outcome.FAILED) problems += "$tag was reported failed (${e.detail}) but arrived"
            val before = last[e.sender]
            if (before != null && before > e.seq) problems += "$tag arrived after ${e.sender}#$before: out of order"
            last[e.sender] = maxOf(before ?: e.seq, e.seq)
        }
        if (requireOutcomes) pending().forEach { problems += "$it has no outcome" }
        return problems
    }

    /** Throws an [AssertionError] listing every broken promise (see [violations]). */
    @JvmOverloads
    public fun assertHolds(received: List<String>, requireOutcomes: Boolean = true) {
        val problems = violations(received, requireOutcomes)
        if (problems.isNotEmpty()) {
            throw AssertionError("${problems.size} delivery promise(s) broken:\n  " + problems.take(20).joinToString("\n  "))
        }
    }
}
