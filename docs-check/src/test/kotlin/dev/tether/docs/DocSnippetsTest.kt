package dev.tether.docs

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import java.io.File

/**
 * Every ```kotlin and ```java block of README.md and of the Markdown files in docs/ compiles against the modules
 * of this build (see "Snippets" in docs/architecture.md); a block that does not fails `mvn verify`
 * naming its file and line.
 */
class DocSnippetsTest : FunSpec({
    val root = File(System.getProperty("tether.root") ?: "..").canonicalFile
    val out = File(System.getProperty("tether.snippets.out") ?: "target/snippets")

    test("every Kotlin and Java block of README.md and docs/ compiles") {
        val snippets = repositorySnippets(root)
        val report = checkSnippets(snippets, File(out, "docs"))
        println("docs: ${report.compiled} snippets compiled of ${snippets.size}; left out: " +
            report.skipped.joinToString { (s, why) -> "${s.where} ($why)" })
        withClue(report.errors) { report.errors.shouldBeEmpty() }
        (report.compiled + report.skipped.size) shouldBe snippets.size
    }

    test("a broken snippet fails naming its file and line, in Kotlin and in Java") {
        val md = """
            |# Planted
            |
            |```kotlin
            |val client = webSocketClient(url) { pingInterval = 15.seconds }
            |when (val s = client.connect().state.value) {
            |    is ConnectionState.Connected -> println("up")
            |}
            |```
            |
            |<!-- snippet: before="TetherClient.builder(url)" after=";" -->
            |```java
            |        .pingInterval(Duration.ofSeconds(15))
            |        .reconnectt(true)
            |```
        """.trimMargin()
        val report = checkSnippets(parseSnippets("docs/planted.md", md), File(out, "planted"))
        report.compiled shouldBe 2
        report.errors.map { it.file to it.line } shouldContainExactly listOf("docs/planted.md" to 5, "docs/planted.md" to 13)
        report.errors[0].message shouldContain "'when' expression must be exhaustive"
        report.errors[1].message shouldContain "reconnectt"
    }

    test("directives: skip needs a reason, options are checked") {
        val skipped = parseSnippets("a.md", "<!-- snippet: skip: needs the Android SDK -->\n```kotlin\nx\n```\n")
        skipped.single().skipReason shouldBe "needs the Android SDK"
        shouldThrow<IllegalArgumentException> { parseSnippets("a.md", "<!-- snippet: skip -->\n```kotlin\nx\n```\n") }
            .message shouldContain "a.md:3: 'snippet: skip' needs a reason"
        shouldThrow<IllegalArgumentException> { parseSnippets("a.md", "<!-- snippet: befor=\"x\" -->\n```java\nx\n```\n") }
            .message shouldContain "unknown snippet option 'befor'"
        parseSnippets("a.md", "<!-- snippet: jdk=21 shims=jdk-client -->\n```java\nx\n```\n").single().let {
            it.minimumJdk shouldBe 21
            it.shims shouldBe "jdk-client"
            it.line shouldBe 3
        }
    }
})

private inline fun <T> withClue(errors: List<SnippetError>, block: () -> T): T =
    io.kotest.assertions.withClue("snippets that do not compile:\n" + errors.joinToString("\n")) { block() }
