package dev.tether.examples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.string.shouldContain
import java.io.ByteArrayOutputStream
import java.io.PrintStream

class PhoenixChatSmokeTest : FunSpec({
    test("the Phoenix chat example chats, survives a kick and leaves") {
        val buf = ByteArrayOutputStream()
        runPhoenixChat(PrintStream(buf, true))
        val out = buf.toString()
        out shouldContain "bob     sees online: alice, bob"
        out shouldContain "bob     received \"hi bob\" from alice"
        out shouldContain "alice   received \"hi alice\" from bob"
        out shouldContain "reconnected and rejoined"
        out shouldContain "received \"still there?\" from alice"
        out shouldContain "both    left"
    }
})
