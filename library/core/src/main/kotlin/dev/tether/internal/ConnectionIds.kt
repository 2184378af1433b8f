package dev.tether.internal

import java.util.concurrent.ThreadLocalRandom
import java.util.concurrent.atomic.AtomicLong

/**
 * Connection ids: short, unique in the process (a counter), and unlikely to repeat across processes (a random
 * suffix), e.g. `c7-3fa2`. One per connection, kept across its reconnects.
 */
internal object ConnectionIds {
    private val counter = AtomicLong()

    fun next(): String = "c" + counter.incrementAndGet().toString(36) + "-" +
        String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000))
}
