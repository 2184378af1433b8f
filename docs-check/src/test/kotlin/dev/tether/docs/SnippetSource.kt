package dev.tether.docs

/**
 * A snippet turned into a source file: [text], and for each of its lines the snippet line it came from (0 for
 * lines the wrapper added), so that a compiler's message names the Markdown file and line.
 */
class SnippetSource(val snippet: Snippet, val fileName: String, val text: String, private val origin: IntArray) {
    /** The Markdown line of generated [line] (1-based), or the fence's first line for a wrapper line. */
    fun markdownLine(line: Int): Int {
        val o = origin.getOrElse(line - 1) { 0 }
        return if (o == 0) snippet.line else snippet.line + o - 1
    }
}

/** Builds a source file line by line, remembering where each line came from. */
internal class SourceBuilder {
    private val lines = mutableListOf<String>()
    private val origin = mutableListOf<Int>()

    fun add(text: String) = text.lines().forEach { lines += it; origin += 0 }
    fun addSnippet(text: String, snippetLine: Int) { lines += text; origin += snippetLine }

    fun build(snippet: Snippet, fileName: String) =
        SnippetSource(snippet, fileName, lines.joinToString("\n", postfix = "\n"), origin.toIntArray())
}

/** The imports every Kotlin snippet gets: what a reader of the guides has imported. */
internal val KOTLIN_IMPORTS = listOf(
    "dev.tether.*",
    "dev.tether.phoenix.*",
    "dev.tether.serialization.*",
    "dev.tether.micrometer.*",
    "dev.tether.testkit.*",
    "dev.tether.testing.*",
    "kotlinx.coroutines.*",
    "kotlinx.coroutines.flow.*",
    "kotlinx.serialization.*",
    "kotlinx.serialization.json.*",
    "kotlin.time.Duration.Companion.milliseconds",
    "kotlin.time.Duration.Companion.seconds",
    "kotlin.time.Duration.Companion.minutes",
    "java.time.Duration",
    "javax.net.ssl.TrustManagerFactory",
    "io.micrometer.core.instrument.Tag",
    "io.kotest.core.spec.style.FunSpec",
    "io.kotest.matchers.shouldBe",
    "io.kotest.matchers.types.shouldBeInstanceOf",
    "docsnippets.shims.*",
)

/** The imports every Java snippet gets. */
internal val JAVA_IMPORTS = listOf(
    "dev.tether.*",
    "dev.tether.java.*",
    "dev.tether.testkit.*",
    "dev.tether.jackson.*",
    "com.fasterxml.jackson.core.type.TypeReference",
    "com.fasterxml.jackson.databind.ObjectMapper",
    "java.net.http.*",
    "java.nio.ByteBuffer",
    "java.time.Duration",
    "java.util.*",
    "java.util.concurrent.*",
    "static org.junit.jupiter.api.Assertions.*",
)

/**
 * Kotlin: declarations written at the start of a line (`class`, `data class`, `fun`, `object`, with their
 * annotations) go to the top level of the file, the rest into the body of `suspend fun CoroutineScope.snippet()`,
 * so a snippet may declare a `@Serializable` class and use it. Each snippet has its own package.
 */
fun kotlinSource(snippet: Snippet, index: Int): SnippetSource {
    val top = SourceBuilder()
    val pkg = "docsnippets.s$index"
    top.add("@file:Suppress(\"UNUSED_VARIABLE\", \"UNUSED_PARAMETER\", \"UNUSED_ANONYMOUS_PARAMETER\")")
    top.add("package $pkg")
    KOTLIN_IMPORTS.forEach { top.add("import $it") }
    val body = mutableListOf<Pair<String, Int>>()
    var depth = 0
    var inDeclaration = false
    snippet.code.forEachIndexed { i, line ->
        val n = i + 1
        if (depth == 0 && !inDeclaration) inDeclaration = DECLARATION.containsMatchIn(line)
        if (inDeclaration) top.addSnippet(line, n) else body += line to n
        depth += nesting(line)
        if (depth == 0 && inDeclaration && !line.trim().let { ANNOTATION_ONLY.matches(it) }) inDeclaration = false
    }
    top.add("suspend fun CoroutineScope.snippet() {")
    if (snippet.before.isNotEmpty()) top.add(snippet.before)
    body.forEach { (text, n) -> top.addSnippet(text, n) }
    if (snippet.after.isNotEmpty()) top.add(snippet.after)
    top.add("}")
    return top.build(snippet, "Snippet$index.kt")
}

/** Java: the snippet is the body of `void snippet() throws Exception` in a class that extends its shims. */
fun javaSource(snippet: Snippet, index: Int): SnippetSource {
    val b = SourceBuilder()
    val base = when (snippet.shims) {
        "default" -> "docsnippets.shims.JavaShims"
        "jdk-client" -> "docsnippets.shims.JdkClientShims"
        else -> throw IllegalArgumentException("${snippet.where}: unknown shims '${snippet.shims}'")
    }
    b.add("package docsnippets.j$index;")
    JAVA_IMPORTS.forEach { b.add("import $it;") }
    b.add("@SuppressWarnings(\"all\") public class Snippet$index extends $base {")
    b.add("void snippet() throws Exception {")
    if (snippet.before.isNotEmpty()) b.add(snippet.before)
    snippet.code.forEachIndexed { i, line -> b.addSnippet(line, i + 1) }
    if (snippet.after.isNotEmpty()) b.add(snippet.after)
    b.add("}")
    b.add("}")
    return b.build(snippet, "docsnippets/j$index/Snippet$index.java")
}

private val DECLARATION = Regex("""^(@\w+|(data |enum |sealed |abstract |open )?class |fun |object |interface )""")
private val ANNOTATION_ONLY = Regex("""^(@\w+(\([^)]*\))?\s*)+$""")

/** How much [line] opens minus closes brackets, ignoring those in string literals and comments (roughly). */
private fun nesting(line: String): Int {
    var d = 0
    var inString = false
    var inRaw = false
    var i = 0
    while (i < line.length) {
        val c = line[i]
        when {
            !inString && line.startsWith("\"\"\"", i) -> { inRaw = !inRaw; i += 2 }
            inRaw -> {}
            inString && c == '\\' -> i++
            c == '"' -> inString = !inString
            !inString && c == '/' && line.getOrNull(i + 1) == '/' -> return d
            !inString && (c == '{' || c == '(' || c == '[') -> d++
            !inString && (c == '}' || c == ')' || c == ']') -> d--
        }
        i++
    }
    return d
}
