package dev.tether.java.internal

import java.util.ArrayDeque
import java.util.concurrent.Executor

/** Runs tasks one at a time, in order, on [delegate]: listener calls keep their event order on any executor. */
internal class SerialExecutor(private val delegate: Executor) : Executor {
    private val tasks = ArrayDeque<Runnable>()
    private var active: Runnable? = null

    @Synchronized
    override fun execute(command: Runnable) {
        tasks.add(Runnable {
            try {
                command.run()
            } finally {
                scheduleNext()
            }
        })
        if (active == null) scheduleNext()
    }

    @Synchronized
    private fun scheduleNext() {
        active = tasks.poll()
        active?.let { delegate.execute(it) }
    }
}
