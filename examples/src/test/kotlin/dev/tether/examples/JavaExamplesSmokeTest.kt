package dev.tether.examples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.string.shouldContain
import java.io.ByteArrayOutputStream
import java.io.PrintStream

private fun capture(run: (PrintStream) -> Unit): String = ByteArrayOutputStream().also { run(PrintStream(it, true)) }.toString()

class JavaExamplesSmokeTest : FunSpec({
    test("JavaEcho echoes three messages and closes") {
        val out = capture { JavaEcho.run(it) }
        out shouldContain "sent three, echoed three"
        out shouldContain "closed: 1000"
    }

    test("JavaReconnectingTicker reconnects after a server restart and ticks resume") {
        val out = capture { JavaReconnectingTicker.run(it) }
        out shouldContain "received tick 1.1"
        out shouldContain "reconnecting: attempt 1 in"
        out shouldContain "received tick 2."
        out shouldContain "ticks resumed after the reconnect"
    }

    test("JavaPhoenixChat chats through a Phoenix room") {
        val out = capture { JavaPhoenixChat.run(it) }
        out shouldContain "bob received {\"from\":\"alice\",\"body\":\"hi bob\"}"
        out shouldContain "alice received {\"from\":\"bob\",\"body\":\"hi alice\"}"
        out shouldContain "both left"
    }
})
