package dev.tether.internal.lincheck

import dev.tether.BufferConfig
import dev.tether.Frame
import dev.tether.OverflowPolicy
import dev.tether.internal.Outbox
import dev.tether.internal.Tracked
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions
import org.jetbrains.lincheck.datastructures.Operation
import org.jetbrains.lincheck.datastructures.Validate
import org.junit.jupiter.api.Test

/**
 * Model-checked (Lincheck): the outbox's in-flight count, which lets a send be written directly from the caller only
 * while nothing sent earlier is queued or being written (`DirectWrites.handOver`), keeps per-sender order across
 * every send path. Senders use `outgoing.trySend`, `enqueueNow` (enqueue, the Java facade) and a direct write (taken
 * only when the count is 0 and the direct guard is free, as `handOver` does; else through the outbox); a writer takes
 * frames, puts them on the wire and only then finishes them, as the socket writer does. After every interleaving,
 * the rest is written and each sender's frames must be on the wire in the order it sent them ([validate]).
 * Cross-sender order is not promised (a send that sees another's frame in flight goes through the outbox, and the
 * channel may order concurrent senders either way), so the operations return nothing to compare.
 */
class OutboxLincheckTest {
    private val outbox = Outbox(BufferConfig(64, OverflowPolicy.FAIL), onUntrackedDrop = { _, _ -> })
    private val wire = java.util.Collections.synchronizedList(ArrayList<String>())
    private val direct = java.util.concurrent.atomic.AtomicBoolean()
    private val seqs = java.util.concurrent.ConcurrentHashMap<Thread, Int>()

    /** The next frame of the calling thread: `<thread id>:<its sequence number>`. */
    private fun frame(): Frame.Text {
        val t = Thread.currentThread()
        val n = seqs.merge(t, 1, Int::plus)!!
        return Frame.Text("${t.id}:$n")
    }

    @Operation
    fun send() {
        outbox.outgoing.trySend(frame())
    }

    @Operation
    fun enqueue() {
        outbox.enqueueNow(Tracked(frame()))
    }

    /** A send as `handOver` takes it: written directly only while nothing is in flight, else through the outbox. */
    @Operation
    fun direct() {
        val f = frame()
        if (!tryDirect(f.text)) outbox.enqueueNow(Tracked(f))
    }

    private fun tryDirect(text: String): Boolean {
        if (outbox.inFlight.get() != 0) return false
        if (!direct.compareAndSet(false, true)) return false
        try {
            if (outbox.inFlight.get() != 0) return false
            wire += text
            return true
        } finally {
            direct.set(false)
        }
    }

    /** The writer: takes one frame, puts it on the wire, then marks it finished (written). */
    @Operation(nonParallelGroup = "writer")
    fun write() {
        val e = outbox.channel.tryReceive().getOrNull() ?: return
        wire += (outbox.frameOf(e) as Frame.Text).text
        outbox.finished(e)
    }

    @Validate
    fun validate() {
        while (true) {
            val e = outbox.channel.tryReceive().getOrNull() ?: break
            wire += (outbox.frameOf(e) as Frame.Text).text
            outbox.finished(e)
        }
        val last = HashMap<String, Int>()
        for (w in wire) {
            val (sender, n) = w.split(':')
            val before = last.put(sender, n.toInt())
            check(before == null || before < n.toInt()) { "sender $sender: frame $n went out after frame $before; wire: $wire" }
        }
        check(outbox.inFlight.get() == 0) { "in flight after everything was written: ${outbox.inFlight.get()}" }
    }

    private companion object {
        /** `-Dtether.lincheck.iterations=N` searches longer. */
        val ITERATIONS = System.getProperty("tether.lincheck.iterations")?.toInt() ?: 8
    }

    @Test
    fun modelCheck() = ModelCheckingOptions()
        .iterations(ITERATIONS)
        .invocationsPerIteration(300)
        .actorsBefore(1)
        .threads(2)
        .actorsPerThread(3)
        .actorsAfter(1)
        .check(this::class)
}
