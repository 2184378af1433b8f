package dev.tether.docs

import java.io.File

/**
 * One fenced ```kotlin or ```java block of a Markdown file, with the directive written on the line just before its
 * fence, if any:
 *
 * ```
 * <!-- snippet: skip: needs the Android SDK -->      not compiled; the reason is required
 * <!-- snippet: before="TetherClient.builder(url)" after=";" -->   code compiled around a fragment
 * <!-- snippet: shims=jdk-client -->                 Java: the shim base class for JDK-client tests (testing.md)
 * <!-- snippet: jdk=21 -->                           compiled only on a JDK 21 or newer (virtual threads)
 * ```
 *
 * An HTML comment is invisible where Markdown is rendered (GitHub, the site).
 */
data class Snippet(
    val file: String,
    /** 1-based line of the fence's first code line in [file]. */
    val line: Int,
    val language: String,
    val code: List<String>,
    val skipReason: String? = null,
    val before: String = "",
    val after: String = "",
    val shims: String = "default",
    val minimumJdk: Int = 17,
) {
    val where: String get() = "$file:$line"
}

/** Reads the snippets of Markdown [text]; [name] is how messages name the file (a path from the repository root). */
fun parseSnippets(name: String, text: String): List<Snippet> {
    val lines = text.lines()
    val snippets = mutableListOf<Snippet>()
    var i = 0
    while (i < lines.size) {
        val fence = FENCE.matchEntire(lines[i])
        if (fence == null) { i++; continue }
        val indent = fence.groupValues[1]
        val language = fence.groupValues[2]
        val start = i + 1
        var end = start
        while (end < lines.size && lines[end].trim() != "```") end++
        require(end < lines.size) { "$name:${i + 1}: a ``` fence that never closes" }
        if (language == "kotlin" || language == "java") {
            val code = lines.subList(start, end).map { it.removePrefix(indent) }
            val directive = if (i > 0) DIRECTIVE.matchEntire(lines[i - 1].trim())?.groupValues?.get(1) else null
            snippets += withDirective(Snippet(name, start + 1, language, code), directive)
        }
        i = end + 1
    }
    return snippets
}

/** Every snippet of README.md and of every Markdown file in docs/ under [root]. */
fun repositorySnippets(root: File): List<Snippet> {
    val files = listOf(File(root, "README.md")) +
        (File(root, "docs").listFiles { f -> f.name.endsWith(".md") }?.sortedBy { it.name } ?: emptyList())
    return files.flatMap { parseSnippets(it.relativeTo(root).path, it.readText()) }
}

private fun withDirective(s: Snippet, directive: String?): Snippet {
    if (directive == null) return s
    val skip = SKIP.matchEntire(directive.trim())
    if (skip != null) {
        val reason = skip.groupValues[1].trim()
        require(reason.isNotEmpty()) { "${s.where}: 'snippet: skip' needs a reason after a colon" }
        return s.copy(skipReason = reason)
    }
    var out = s
    var rest = directive.trim()
    while (rest.isNotEmpty()) {
        val m = OPTION.find(rest)
        require(m != null && m.range.first == 0) { "${s.where}: cannot read the snippet directive at '$rest'" }
        val key = m.groupValues[1]
        val value = m.groupValues[2].ifEmpty { m.groupValues[3] }
        out = when (key) {
            "before" -> out.copy(before = value)
            "after" -> out.copy(after = value)
            "shims" -> out.copy(shims = value)
            "jdk" -> out.copy(minimumJdk = value.toInt())
            else -> throw IllegalArgumentException("${s.where}: unknown snippet option '$key'")
        }
        rest = rest.substring(m.range.last + 1).trim()
    }
    return out
}

private val FENCE = Regex("""^(\s*)```(\w*)\s*$""")
private val DIRECTIVE = Regex("""^<!--\s*snippet:(.*?)-->$""")
private val SKIP = Regex("""^skip(?::(.*))?$""")
private val OPTION = Regex("""(\w+)=(?:"((?:[^"\\]|\\.)*)"|(\S+))""")
