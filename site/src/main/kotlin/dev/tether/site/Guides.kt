package dev.tether.site

import org.intellij.markdown.flavours.gfm.GFMFlavourDescriptor
import org.intellij.markdown.html.HtmlGenerator
import org.intellij.markdown.parser.MarkdownParser
import java.io.File
import java.net.URI

/** A Markdown file of the repository and the page it becomes. */
private class Page(val source: String, val output: String, val title: String, val markdown: String)

/**
 * Renders the README (as the landing page), the guides in docs/ and the changelog into [args]`[1]`, beside the API
 * reference that Dokka wrote into `api/`. Links between Markdown files become links between pages; links to other
 * files of the repository go to [args]`[2]` (the POM's `scm/url` and `/blob/main/`). Offline: nothing is fetched.
 */
fun main(args: Array<String>) {
    val root = File(args[0]).canonicalFile
    val out = File(args[1]).apply { mkdirs() }
    val repository = args[2]
    val guides = File(root, "docs").listFiles { f -> f.name.endsWith(".md") }!!.sortedBy { guideOrder(root, it.name) }
    val pages = listOf(page(root, "README.md", "index.html")) +
        guides.map { page(root, "docs/${it.name}", "guides/${it.nameWithoutExtension}.html") } +
        page(root, "CHANGELOG.md", "changelog.html")
    val byOutput = pages.associateBy { it.source }
    for (p in pages) {
        val body = withHeadingIds(rewriteLinks(render(p.markdown), p, byOutput, repository))
        File(out, p.output).apply { parentFile.mkdirs() }.writeText(layout(p, pages, body))
    }
    File(out, "guides/index.html").writeText(layout(
        Page("docs", "guides/index.html", "Guides", ""), pages,
        "<h1>Guides</h1>\n<ol>\n" + pages.filter { it.output.startsWith("guides/") }.joinToString("\n") {
            "<li><a href=\"${it.output.removePrefix("guides/")}\">${escape(it.title)}</a></li>"
        } + "\n</ol>\n<p>The API reference of every module: <a href=\"../api/index.html\">API</a>.</p>",
    ))
    File(out, "style.css").writeText(STYLE)
    linkGuidesFromApi(File(out, "api/index.html"), pages)
    val broken = brokenLinks(out, pages.map { it.output } + "guides/index.html" + "api/index.html")
    check(broken.isEmpty()) { "the site has broken links:\n" + broken.joinToString("\n") }
    println("site: ${pages.size + 1} pages in $out (API reference in ${File(out, "api")})")
}

/**
 * Dokka prints a relative link of the module's page (`module.md`) as its bare address: the API's first page names
 * the guides as `../guides/getting-started.html`. Each such address becomes a link with the guide's title.
 */
private fun linkGuidesFromApi(apiIndex: File, pages: List<Page>) {
    if (!apiIndex.isFile) return
    var html = apiIndex.readText()
    for (p in pages.filter { it.output.startsWith("guides/") }) {
        html = html.replace(Regex("(?<![\"/\\w])\\.\\./${Regex.escape(p.output)}")) {
            "<a href=\"../${p.output}\">${escape(p.title)}</a>"
        }
    }
    html = html.replace(Regex("(?<![\"/\\w])\\.\\./guides/index\\.html"), "<a href=\"../guides/index.html\">all guides</a>")
    apiIndex.writeText(html)
}

/** Links of the [pages] (paths under [out]) to a file of the site that does not exist, or to an anchor it lacks. */
private fun brokenLinks(out: File, pages: List<String>): List<String> = pages.flatMap { from ->
    val html = File(out, from).readText()
    HREF.findAll(html).map { it.groupValues[1] }
        .filter { it.isNotEmpty() && !URI(it.replace(" ", "%20")).isAbsolute }
        .mapNotNull { href ->
            val path = href.substringBefore('#')
            val anchor = href.substringAfter('#', "")
            val target = if (path.isEmpty()) File(out, from) else File(File(out, from).parentFile, path)
            when {
                !target.isFile -> "$from: $href (no such page)"
                anchor.isNotEmpty() && target.extension == "html" && !target.path.contains("/api/") &&
                    !target.readText().contains("id=\"$anchor\"") -> "$from: $href (no such anchor)"
                else -> null
            }
        }.toList()
}

/** The guides in the order of the README's "Documentation" list, then any others by name. */
private fun guideOrder(root: File, name: String): String {
    val readme = File(root, "README.md").readText().substringAfter("## Documentation")
    val i = readme.indexOf("(docs/$name)")
    return if (i >= 0) "%08d".format(i) else "z$name"
}

private fun page(root: File, source: String, output: String): Page {
    val markdown = File(root, source).readText()
    val title = markdown.lineSequence().firstOrNull { it.startsWith("# ") }?.removePrefix("# ")?.trim() ?: source
    return Page(source, output, title, markdown)
}

private fun render(markdown: String): String {
    val flavour = GFMFlavourDescriptor()
    val tree = MarkdownParser(flavour).buildMarkdownTreeFromString(markdown)
    return HtmlGenerator(markdown, tree, flavour).generateHtml()
}

private val HREF = Regex("""href="([^"]*)"""")

/** Links to rendered Markdown files point at their pages; other relative links point at the repository. */
private fun rewriteLinks(html: String, page: Page, pages: Map<String, Page>, repository: String): String = HREF.replace(html) { m ->
    val href = m.groupValues[1]
    if (href.isEmpty() || href.startsWith("#") || URI(href.replace(" ", "%20")).isAbsolute) return@replace m.value
    val path = href.substringBefore('#')
    val anchor = href.substring(path.length)
    val target = normalize(page.source.substringBeforeLast('/', "") + "/" + path)
    val rendered = pages[target]
    "href=\"" + (if (rendered != null) relative(page.output, rendered.output) + anchor else repository + target + anchor) + "\""
}

private fun normalize(path: String): String {
    val parts = ArrayDeque<String>()
    for (p in path.split('/')) when (p) {
        "", "." -> Unit
        ".." -> parts.removeLastOrNull()
        else -> parts.addLast(p)
    }
    return parts.joinToString("/")
}

/** The link from page [from] to page [to], both paths under the site's root. */
private fun relative(from: String, to: String): String = "../".repeat(from.count { it == '/' }) + to

private val HEADING = Regex("""<h([1-6])>(.*?)</h\1>""")
private val TAG = Regex("<[^>]+>")

/** GitHub's heading anchors (`#delivery-across-reconnects`), so that links with anchors work on the site too. */
private fun withHeadingIds(html: String): String = HEADING.replace(html) { m ->
    val text = TAG.replace(m.groupValues[2], "").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    val id = text.lowercase().filter { it.isLetterOrDigit() || it == ' ' || it == '-' || it == '_' }.replace(' ', '-')
    "<h${m.groupValues[1]} id=\"$id\">${m.groupValues[2]}</h${m.groupValues[1]}>"
}

private fun escape(s: String) = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

private fun layout(page: Page, pages: List<Page>, body: String): String {
    val guideCount = pages.count { it.output.startsWith("guides/") }
    val up = "../".repeat(page.output.count { it == '/' })
    val nav = pages.filter { it.output.startsWith("guides/") }.joinToString("\n") { g ->
        val current = if (g.output == page.output) " class=\"current\"" else ""
        "<li><a$current href=\"$up${g.output}\">${escape(g.title)}</a></li>"
    }
    return """
        |<!DOCTYPE html>
        |<html lang="en">
        |<head>
        |<meta charset="utf-8">
        |<meta name="viewport" content="width=device-width, initial-scale=1">
        |<title>${escape(page.title)} · Tether</title>
        |<link rel="stylesheet" href="${up}style.css">
        |</head>
        |<body>
        |<header><a class="brand" href="${up}index.html">Tether</a>
        |<nav><a href="${up}guides/index.html">Guides ($guideCount)</a><a href="${up}api/index.html">API reference</a><a href="${up}changelog.html">Changelog</a></nav></header>
        |<div class="page">
        |<aside><h2>Guides</h2><ol>
        |$nav
        |</ol></aside>
        |<main>
        |$body
        |</main>
        |</div>
        |</body>
        |</html>
        |""".trimMargin()
}

private val STYLE = """
    |body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; }
    |header { display: flex; align-items: center; gap: 2em; padding: 0.8em 2em; background: #27282c; }
    |header a { color: #fff; text-decoration: none; }
    |header .brand { font-weight: 700; font-size: 1.3em; }
    |header nav a { margin-right: 1.5em; opacity: 0.9; }
    |.page { display: flex; max-width: 1200px; margin: 0 auto; }
    |aside { width: 240px; flex: none; padding: 1.5em 1em; border-right: 1px solid #e5e7eb; font-size: 0.92em; }
    |aside h2 { font-size: 1em; margin-top: 0; }
    |aside ol { padding-left: 1.3em; }
    |aside a.current { font-weight: 700; }
    |main { flex: 1; min-width: 0; padding: 1em 2.5em 3em; }
    |pre { background: #f6f8fa; padding: 0.9em 1em; overflow-x: auto; border-radius: 6px; font-size: 0.88em; line-height: 1.45; }
    |code { font-family: ui-monospace, "JetBrains Mono", Menlo, Consolas, monospace; }
    |p code, li code, td code { background: #eff1f3; padding: 0.1em 0.3em; border-radius: 4px; font-size: 0.9em; }
    |table { border-collapse: collapse; margin: 1em 0; font-size: 0.93em; }
    |th, td { border: 1px solid #d0d7de; padding: 0.35em 0.7em; vertical-align: top; }
    |th { background: #f6f8fa; }
    |a { color: #0969da; }
    |""".trimMargin()
