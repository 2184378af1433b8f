package dev.tether.examples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.string.shouldContain
import java.io.ByteArrayOutputStream
import java.io.PrintStream

class DemoSmokeTest : FunSpec({
    test("the README demo runs and shows connect, echo, reconnect with backoff and a clean close") {
        val buf = ByteArrayOutputStream()
        runDemo(PrintStream(buf, true))
        val out = buf.toString()
        out shouldContain "received echo: \"hello\""
        out shouldContain "reconnecting: attempt 1 in"
        out shouldContain "received echo: \"queued while offline\""
        out shouldContain "reconnected by itself"
        out shouldContain "closed cleanly with 1000"
    }
})
