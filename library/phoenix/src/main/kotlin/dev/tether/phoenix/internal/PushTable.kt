package dev.tether.phoenix.internal

import java.util.concurrent.ConcurrentHashMap

/**
 * A channel's unfinished pushes: those held for the join, in the order they were made, and those on the wire, by
 * ref, waiting for their reply. It owns the rule that every push ends with exactly one outcome, whichever of these
 * threads gets there first:
 *
 * - callers on any thread (`push`, `enqueue`) [offer] pushes, which are sent at once under the table's lock (so
 *   pushes keep their order) or held;
 * - the socket's serial dispatcher registers joins and leaves ([register]), sends the held pushes after a join
 *   ([flush]) and ends the channel ([endChannel]);
 * - the socket's reader looks replies up ([get]); a completed push takes itself out ([remove]);
 * - a write that fails after the socket dropped, on whichever thread completes it, hands its push back ([putBack]);
 * - the socket's sweeper times pushes out ([expire]); the socket's end ends every push still here ([endSocket]).
 *
 * Once [endSocket] has run, nothing stays in the table and nothing new is kept: a push offered, registered or put
 * back later ends at once. Once [endChannel] has run, nothing is held any more. What a push *is* (its order, its
 * deadline, how it completes) is up to the subclass; completions run outside the lock, except a refusal in [offer]
 * and [putBack], which only completes the push's own deferred.
 *
 * The table is model-checked on its own (`PushTableLincheckTest`).
 */
internal abstract class PushTable<P : Any>(private val maxHeld: Int) {
    private val lock = Any()

    /** Held for the join, in the order made ([orderOf]); under [lock]. */
    private val held = ArrayDeque<P>()

    /** On the wire, by ref. */
    private val wire = ConcurrentHashMap<String, P>()

    /** Set under [lock] when the socket has ended: see [endSocket]. */
    @Volatile
    private var socketEnded = false

    /** Set under [lock] when the channel has left or was closed by the server: it never joins again. */
    @Volatile
    private var channelEnded = false

    /** Why a push is failed without having been written. */
    enum class Refusal {
        /** The socket has ended. */
        SOCKET_CLOSED,

        /** The channel has left or was closed by the server. */
        CHANNEL_CLOSED,

        /** More than `maxHeld` pushes wait for the join. */
        TOO_MANY_HELD,
    }

    /** The order pushes were made in: held pushes are sent, and put back, in this order. */
    protected abstract fun orderOf(p: P): Long

    /** When [p] times out ([System.nanoTime]). */
    protected abstract fun deadlineOf(p: P): Long

    /** True once [p] has its outcome. */
    protected abstract fun isDone(p: P): Boolean

    /** True for a join from a connection that is gone: it is forgotten, never timed out. */
    protected abstract fun isAbandoned(p: P): Boolean

    /** Ends [p] with a timeout: it may have been handled, but no reply can come. */
    protected abstract fun timeOut(p: P)

    /** Ends [p] as never written, for [why]. */
    protected abstract fun refuse(p: P, why: Refusal)

    /**
     * Sends [p] now, under the lock, when nothing is held and [canSend] says the channel is joined on a connected
     * socket ([send] is then called, under the lock); otherwise holds it for the join. True if [send] took it.
     * A socket or channel that has ended, or more than `maxHeld` pushes held, refuses it at once.
     */
    fun offer(p: P, canSend: () -> Boolean, send: (P) -> Unit): Boolean {
        synchronized(lock) {
            when {
                socketEnded -> refuse(p, Refusal.SOCKET_CLOSED)
                channelEnded -> refuse(p, Refusal.CHANNEL_CLOSED)
                held.isEmpty() && canSend() -> {
                    send(p)
                    return true
                }
                held.size >= maxHeld -> refuse(p, Refusal.TOO_MANY_HELD)
                else -> held.addLast(p)
            }
        }
        return false
    }

    /** Records [p] as written under [ref]; from [offer]'s and [flush]'s `send`, under the lock. */
    fun sent(ref: String, p: P) {
        wire[ref] = p
    }

    /**
     * Registers a join or leave [p] as on the wire under [ref]: false, with [p] timed out, when the socket has ended.
     * These are not made under the lock: the socket's end may go through the wire table just before [p] is in it,
     * so the flag is read after [p] is in: the end sets it before it looks, and one of the two sees the other.
     */
    fun register(ref: String, p: P): Boolean {
        wire[ref] = p
        if (!socketEnded) return true
        wire.remove(ref)
        timeOut(p)
        return false
    }

    /** The push on the wire under [ref], if any. Any thread. */
    operator fun get(ref: String): P? = wire[ref]

    /** Takes the push under [ref] off the wire (it completed, or its write failed). */
    fun remove(ref: String): P? = wire.remove(ref)

    /** True while pushes wait for a reply or for the join. */
    val isLive: Boolean get() = wire.isNotEmpty() || synchronized(lock) { held.isNotEmpty() }

    /** A copy of the pushes held for the join, in order (for tests and diagnostics). */
    val heldNow: List<P> get() = synchronized(lock) { held.toList() }

    /** After a join: sends the held pushes in order while [canSend]; done ones are dropped. */
    fun flush(canSend: () -> Boolean, send: (P) -> Unit) {
        synchronized(lock) {
            while (held.isNotEmpty() && canSend()) held.removeFirst().let { if (!isDone(it)) send(it) }
        }
    }

    /**
     * Holds [p] again, which the socket did not take (it dropped): among the held pushes in the order made, not at
     * the front (several failing one after another would be reversed). Refuses it if the socket or the channel has
     * ended: no join would ever send it (and the channel's end may have taken it off the sweeper's list already).
     */
    fun putBack(p: P) {
        synchronized(lock) {
            if (socketEnded || channelEnded) {
                refuse(p, if (socketEnded) Refusal.SOCKET_CLOSED else Refusal.CHANNEL_CLOSED)
                return
            }
            var i = 0
            while (i < held.size && orderOf(held[i]) < orderOf(p)) i++
            held.add(i, p)
        }
    }

    /** On the sweeper: times out every push whose deadline has passed ([now] from [System.nanoTime]). */
    fun expire(now: Long) {
        for (p in wire.values) if (now - deadlineOf(p) >= 0 && !isAbandoned(p)) timeOut(p)
        val expired = synchronized(lock) {
            if (held.isEmpty()) return
            held.filter { now - deadlineOf(it) >= 0 || isDone(it) }.also { held.removeAll(it) }
        }
        expired.forEach { timeOut(it) }
    }

    /**
     * The socket has ended: every push still here ends now. One on the wire times out (the server may have handled
     * it, but no reply can come any more); one held was never sent and is refused.
     */
    fun endSocket() {
        // first, under the lock: a push offered or put back from now on is refused, and one sent before is on the wire
        val wasHeld = synchronized(lock) {
            socketEnded = true
            held.toList().also { held.clear() }
        }
        for (p in wire.values) if (!isAbandoned(p)) timeOut(p)
        wire.clear() // a join or leave registered meanwhile sees socketEnded and ends itself (register)
        wasHeld.forEach { refuse(it, Refusal.SOCKET_CLOSED) }
    }

    /** The channel has left or was closed by the server: it never joins again, so what is held is refused. */
    fun endChannel() {
        val wasHeld = synchronized(lock) {
            channelEnded = true
            held.toList().also { held.clear() }
        }
        wasHeld.forEach { refuse(it, Refusal.CHANNEL_CLOSED) }
    }
}
