package dev.tether.harness

import dev.tether.OfflinePolicy
import dev.tether.OverflowPolicy
import kotlin.random.Random

/**
 * One random schedule of the invariant harness, made from a seed and nothing else: the client's options, the
 * senders with the messages each sends (and how), the faults and commands, and how the client is closed at the end.
 * The same seed gives the same schedule; what the machine's threads make of it varies from run to run, so a failing
 * seed is replayed several times (see docs/testing.md).
 */
data class Schedule(
    val seed: Long,
    val tls: Boolean,
    val viaProxy: Boolean,
    val compression: Boolean,
    val outgoingCapacity: Int,
    val overflow: OverflowPolicy,
    val offline: OfflinePolicy,
    val outboxTimeToLiveMs: Long?,
    val withGate: Boolean,
    val slowTrustMs: Long,
    val stayDownOnServerClose: Boolean,
    val senders: List<SenderPlan>,
    val chaos: List<Step>,
    val end: End,
) {
    /** A sender: a coroutine (on the shared pool or unconfined) or a Java thread, sending its messages in order. */
    data class SenderPlan(val name: String, val kind: SenderKind, val messages: List<Send>)

    enum class SenderKind { COROUTINE, UNCONFINED, JAVA_THREAD }

    /** One message: how it is sent, after how long a pause, and how big it is. */
    data class Send(val how: How, val pauseMs: Long, val padding: Int)

    enum class How {
        SEND, SEND_TTL, ENQUEUE, ENQUEUE_TTL, OUTGOING, OUTGOING_SELECT, CANCELLED_SEND,

        /** Java threads: `enqueue(...).asCompletableFuture()` waited on with `get()`. */
        ENQUEUE_AND_WAIT,
    }

    /** A fault or command, after [pauseMs] from the one before. */
    data class Step(val what: Fault, val pauseMs: Long, val amount: Long)

    enum class Fault {
        RECONNECT, PAUSE_RESUME, GATE_FLIP, SERVER_DROP, SERVER_CLOSE, SERVER_STOP_READING, PING_FLOOD,
        PROTOCOL_ERROR, SERVER_RESTART, PROXY_CUT, PROXY_LATENCY, PROXY_BLACKHOLE, SERVER_TEXT,
    }

    /** How the client ends: `close(code, reason)` from a coroutine, `close()` from a Java thread, or from a hook. */
    enum class End { CLOSE_SUSPENDING, CLOSE_BLOCKING, CLOSE_FROM_HOOK, CLOSE_UNANSWERED }

    override fun toString(): String = buildString {
        append("Schedule(seed=$seed, tls=$tls, proxy=$viaProxy, deflate=$compression, outgoing=$outgoingCapacity/$overflow, ")
        append("offline=$offline, ttl=${outboxTimeToLiveMs}ms, gate=$withGate, slowTrust=${slowTrustMs}ms, ")
        append("stayDownOnServerClose=$stayDownOnServerClose, end=$end)\n")
        for (s in senders) {
            append("  ${s.name} (${s.kind}): ")
            append(s.messages.joinToString(" ") { "${it.how}+${it.pauseMs}ms" + if (it.padding > 0) "/${it.padding}B" else "" })
            append('\n')
        }
        append("  chaos: ").append(chaos.joinToString(" ") { "+${it.pauseMs}ms ${it.what}(${it.amount})" })
    }

    companion object {
        private val coroutineWays = listOf(
            How.SEND, How.SEND, How.SEND_TTL, How.ENQUEUE, How.ENQUEUE, How.ENQUEUE_TTL,
            How.OUTGOING, How.OUTGOING, How.OUTGOING_SELECT, How.CANCELLED_SEND,
        )
        private val threadWays = listOf(How.ENQUEUE, How.ENQUEUE, How.ENQUEUE_TTL, How.ENQUEUE_AND_WAIT)

        /**
         * A known limit (docs/lifecycle.md, "Order on the wire"): a frame put through `onSend` in a select may overtake
         * the same sender's enqueued frames still waiting beyond a full buffer. A sender that also enqueues uses
         * `outgoing.send` instead (done after drawing, so that every seed keeps the rest of its schedule).
         */
        private fun withinKnownLimits(sends: List<Send>): List<Send> =
            if (sends.none { it.how == How.ENQUEUE || it.how == How.ENQUEUE_TTL }) sends
            else sends.map { if (it.how == How.OUTGOING_SELECT) it.copy(how = How.OUTGOING) else it }

        /** The schedule for [seed]. */
        fun of(seed: Long): Schedule {
            val r = Random(seed)
            val viaProxy = r.nextInt(3) > 0
            val withGate = r.nextInt(4) == 0
            val tls = r.nextInt(4) == 0
            val senders = (0 until 1 + r.nextInt(4)).map { i ->
                val kind = SenderKind.entries[r.nextInt(SenderKind.entries.size)]
                val ways = if (kind == SenderKind.JAVA_THREAD) threadWays else coroutineWays
                val n = 5 + r.nextInt(40)
                SenderPlan("s$i", kind, withinKnownLimits(List(n) {
                    Send(
                        how = ways[r.nextInt(ways.size)],
                        pauseMs = if (r.nextInt(3) == 0) r.nextLong(0, 40) else 0,
                        // now and then one larger than the socket takes at once: its write completes on the loop
                        padding = when (r.nextInt(30)) {
                            0 -> r.nextInt(1_000_000, 2_000_000)
                            1, 2, 3 -> r.nextInt(20_000, 300_000)
                            else -> r.nextInt(0, 64)
                        },
                    )
                }))
            }
            val faults = Fault.entries.filter { f ->
                when (f) {
                    Fault.PROXY_CUT, Fault.PROXY_LATENCY, Fault.PROXY_BLACKHOLE -> viaProxy
                    Fault.GATE_FLIP -> withGate
                    else -> true
                }
            }
            val chaos = List(r.nextInt(0, 7)) {
                val f = faults[r.nextInt(faults.size)]
                Step(f, r.nextLong(10, 300), when (f) {
                    Fault.PAUSE_RESUME, Fault.SERVER_STOP_READING, Fault.PROXY_BLACKHOLE -> r.nextLong(50, 700)
                    Fault.PROXY_LATENCY -> r.nextLong(0, 40)
                    Fault.SERVER_RESTART -> r.nextLong(0, 300)
                    Fault.PING_FLOOD -> r.nextLong(1, 60)
                    else -> 0
                })
            }
            return Schedule(
                seed = seed,
                tls = tls,
                viaProxy = viaProxy,
                compression = r.nextInt(3) == 0,
                outgoingCapacity = if (r.nextBoolean()) 4 + r.nextInt(12) else 256,
                overflow = OverflowPolicy.entries[r.nextInt(OverflowPolicy.entries.size)],
                offline = if (r.nextInt(4) == 0) OfflinePolicy.REJECT else OfflinePolicy.QUEUE,
                outboxTimeToLiveMs = if (r.nextInt(3) == 0) r.nextLong(100, 1_500) else null,
                withGate = withGate,
                slowTrustMs = if (tls && r.nextBoolean()) r.nextLong(50, 600) else 0,
                stayDownOnServerClose = r.nextInt(5) == 0,
                senders = senders,
                chaos = chaos,
                end = End.entries[r.nextInt(End.entries.size)],
            )
        }
    }
}
