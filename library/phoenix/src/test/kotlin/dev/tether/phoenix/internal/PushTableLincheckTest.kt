package dev.tether.phoenix.internal

import org.jetbrains.lincheck.datastructures.ModelCheckingOptions
import org.jetbrains.lincheck.datastructures.Operation
import org.jetbrains.lincheck.datastructures.Validate
import org.junit.jupiter.api.Test
import java.util.concurrent.ConcurrentLinkedQueue
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference

/**
 * Model-checked (Lincheck): a Phoenix channel's table of unfinished pushes ([PushTable]), driven as the channel
 * drives it: callers push from any thread; the socket's serial dispatcher registers leaves, sends the held pushes
 * after a join, ends the channel and sees the socket drop and come back; writes complete later, some failing because
 * the socket dropped (the push is put back); the reader completes replies; the sweeper times pushes out; the
 * socket's end ends everything. [validate] checks, after every interleaving, the promise the table exists for:
 * every push ends with exactly one outcome and none is stranded (neither finished nor anywhere the sweeper or the
 * socket's end would find it); after the socket's end nothing is left and no push is kept; after the channel's
 * end nothing is held; a push the server received never ends as "never sent"; held pushes stay in the order made.
 */
class PushTableLincheckTest {
    /** A push: completes once (as [dev.tether.phoenix.Push] does, by a compare-and-set), then leaves the table. */
    private inner class Item(val seq: Long) {
        val outcome = AtomicReference<String?>()
        val attempts = AtomicInteger()

        @Volatile
        var ref: String? = null

        /** The server received it (its write succeeded). */
        @Volatile
        var written = false

        fun complete(how: String) {
            attempts.incrementAndGet()
            if (outcome.compareAndSet(null, how)) ref?.let { table.remove(it) }
        }

        override fun toString() = "push $seq (ref=$ref, ${outcome.get() ?: "open"}${if (written) ", written" else ""})"
    }

    private val table: PushTable<Item> = object : PushTable<Item>(maxHeld = 3) {
        override fun orderOf(p: Item) = p.seq
        override fun deadlineOf(p: Item) = p.seq // the sweeper's clock reads 2: the first two pushes expire
        override fun isDone(p: Item) = p.outcome.get() != null
        override fun isAbandoned(p: Item) = false
        override fun timeOut(p: Item) = p.complete("timeout")
        override fun refuse(p: Item, why: Refusal) = p.complete("refused $why")
    }

    private val items = CopyOnWriteArrayList<Item>()
    private val seq = AtomicInteger()
    private val refs = AtomicInteger()
    private val writing = ConcurrentLinkedQueue<Item>()

    @Volatile
    private var connected = true

    @Volatile
    private var joined = false

    @Volatile
    private var socketEnded = false

    @Volatile
    private var channelEnded = false

    private fun send(p: Item) {
        val ref = "r${refs.incrementAndGet()}"
        p.ref = ref
        table.sent(ref, p)
        writing.add(p)
    }

    private val canSend: () -> Boolean = { connected && joined }

    /** `push`/`enqueue`, from any thread. */
    @Operation
    fun push() {
        val p = Item(seq.incrementAndGet().toLong())
        items.add(p)
        table.offer(p, canSend, ::send)
    }

    /** The oldest write in flight completes: written, or failed because the socket dropped (the push goes back). */
    @Operation
    fun writeDone(ok: Boolean) {
        val p = writing.poll() ?: return
        if (ok) {
            p.written = true
        } else {
            p.ref?.let { table.remove(it) }
            table.putBack(p)
        }
    }

    /** The reader: the server answers the oldest push it received that has no outcome yet. */
    @Operation(nonParallelGroup = "reader")
    fun reply() {
        val p = items.firstOrNull { it.written && it.outcome.get() == null } ?: return
        p.ref?.let { table[it] }?.complete("ok")
    }

    /** The serial dispatcher: the join succeeded, so the held pushes go out. */
    @Operation(nonParallelGroup = "serial")
    fun joinOk() {
        if (!connected || channelEnded) return
        joined = true
        table.flush(canSend, ::send)
    }

    /** The serial dispatcher: the socket dropped (it reconnects later; pushes wait for the rejoin). */
    @Operation(nonParallelGroup = "serial")
    fun drop() {
        joined = false
        connected = false
    }

    /** The serial dispatcher: the socket is back (the channel rejoins with [joinOk]). */
    @Operation(nonParallelGroup = "serial")
    fun reconnect() {
        connected = true
    }

    /** The serial dispatcher: a leave goes on the wire (not under the table's lock, as joins and leaves are not). */
    @Operation(nonParallelGroup = "serial")
    fun leave() {
        val p = Item(-seq.incrementAndGet().toLong())
        items.add(p)
        val ref = "r${refs.incrementAndGet()}"
        p.ref = ref
        table.register(ref, p)
    }

    /** The serial dispatcher: the channel left, or the server closed it. */
    @Operation(nonParallelGroup = "serial")
    fun endChannel() {
        channelEnded = true
        joined = false
        table.endChannel()
    }

    /** The sweeper. */
    @Operation(nonParallelGroup = "sweeper")
    fun expire() = table.expire(2)

    /** The socket ended (closed, or its scope cancelled): on whichever thread saw it. */
    @Operation
    fun endSocket() {
        socketEnded = true
        connected = false
        table.endSocket()
    }

    @Validate
    fun validate() {
        val held = table.heldNow
        for (p in items) {
            val outcome = p.outcome.get()
            val onWire = p.ref?.let { table[it] } === p
            check(outcome != null || onWire || p in held) { "$p is stranded: no outcome, neither on the wire nor held" }
            check(outcome == null || (!onWire && p !in held)) { "$p has its outcome but is still in the table" }
            check(!(p.written && outcome?.startsWith("refused") == true)) { "$p reached the server but ended as never sent" }
            check(!onWire || p !in held) { "$p is both on the wire and held" }
            if (socketEnded) check(outcome != null) { "$p has no outcome after the socket's end" }
        }
        if (socketEnded) check(!table.isLive) { "the table keeps pushes after the socket's end" }
        if (channelEnded) check(held.isEmpty()) { "$held still held after the channel's end" }
        check(held.zipWithNext().all { (a, b) -> a.seq < b.seq }) { "held out of order: $held" }
    }

    private companion object {
        /** `-Dtether.lincheck.iterations=N` searches longer. */
        val ITERATIONS = System.getProperty("tether.lincheck.iterations")?.toInt() ?: 15
    }

    @Test
    fun modelCheck() = ModelCheckingOptions()
        .addCustomScenario {
            // a leave registered while the socket ended: the end went through the wire before the leave was in it
            parallel {
                thread { actor(PushTableLincheckTest::leave) }
                thread { actor(PushTableLincheckTest::endSocket) }
            }
        }
        .addCustomScenario {
            // a write failed because the socket dropped, after the channel had left: the push went back to wait for
            // a join that never comes
            initial { actor(PushTableLincheckTest::joinOk); actor(PushTableLincheckTest::push) }
            parallel {
                thread { actor(PushTableLincheckTest::endChannel) }
                thread { actor(PushTableLincheckTest::writeDone, false) }
            }
        }
        .iterations(ITERATIONS)
        .invocationsPerIteration(500)
        .threads(3)
        .actorsPerThread(3)
        .check(this::class)
}
