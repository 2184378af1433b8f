package dev.tether.examples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.string.shouldContain
import java.io.ByteArrayOutputStream
import java.io.PrintStream

/** What [run] prints. */
private fun transcript(run: (PrintStream) -> Unit): String = ByteArrayOutputStream().also { run(PrintStream(it, true)) }.toString()

class ObservabilityExamplesSmokeTest : FunSpec({
    test("the typed price feed reads quotes and skips the malformed one") {
        val out = transcript(::runTypedPriceFeed)
        out shouldContain "client  ACME at 101.5"
        out shouldContain "client  skipped a malformed quote"
        out shouldContain "client  INIT at 42.0"
        out shouldContain "client  ACME at 101.75"
        out shouldContain "server  got {\"symbols\":[\"ACME\",\"INIT\"]}"
    }

    test("the metrics example prints the registry") {
        val out = transcript(::runMetricsExport)
        out shouldContain "tether.connects{error=none,outcome=success} count=2.0"
        out shouldContain "tether.messages{direction=out,type=text} count=5.0"
        out shouldContain "tether.disconnects{cause=none,code=4xxx,initiator=server} count=1.0"
        out shouldContain "tether.connection.state{state=closed} value=1.0"
    }
})
