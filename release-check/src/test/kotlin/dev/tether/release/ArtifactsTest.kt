package dev.tether.release

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldStartWith
import org.w3c.dom.Element
import java.io.File
import java.util.jar.JarFile
import javax.xml.parsers.DocumentBuilderFactory

/** A published module: where it is built, its artifact and its JPMS name. */
internal class Published(val dir: String, val artifactId: String, val moduleName: String)

internal val PUBLISHED = listOf(
    Published("library/core", "tether-core", "dev.tether.core"),
    Published("library/ktor", "tether-ktor", "dev.tether.ktor"),
    Published("library/phoenix", "tether-phoenix", "dev.tether.phoenix"),
    Published("java-interop", "tether-java", "dev.tether.java"),
    Published("library/testkit", "tether-testkit", "dev.tether.testkit"),
    Published("library/micrometer", "tether-micrometer", "dev.tether.micrometer"),
    Published("library/serialization", "tether-serialization", "dev.tether.serialization"),
    Published("library/jackson", "tether-jackson", "dev.tether.jackson"),
)

internal val root = File(System.getProperty("tether.root") ?: "..").canonicalFile

/** A release build (`-Prelease`): API docs jars are made and artifacts signed. */
internal val release: Boolean = System.getProperty("tether.release") == "true"
internal val version: String = System.getProperty("tether.version") ?: error("run through Maven: tether.version is not set")

private fun pom(path: String): Element =
    DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(File(root, path)).documentElement

/** The text of the first element at [path] (child names separated by '/') under [e], or null. */
private fun Element.at(path: String): String? {
    var cur: Element = this
    for (name in path.split('/')) {
        cur = (0 until cur.childNodes.length).map { cur.childNodes.item(it) }
            .filterIsInstance<Element>().firstOrNull { it.tagName == name } ?: return null
    }
    return cur.textContent.trim()
}

private fun Element.all(path: String, leaf: String): List<Element> {
    var cur: Element = this
    for (name in path.split('/')) {
        cur = (0 until cur.childNodes.length).map { cur.childNodes.item(it) }
            .filterIsInstance<Element>().firstOrNull { it.tagName == name } ?: return emptyList()
    }
    return (0 until cur.childNodes.length).map { cur.childNodes.item(it) }.filterIsInstance<Element>().filter { it.tagName == leaf }
}

/** What Maven Central requires of a POM (name, description, url, license, developers, scm), as [Element]s say. */
private fun centralGaps(what: String, e: Element): List<String> = listOfNotNull(
    "$what: url".takeIf { e.at("url").isNullOrEmpty() },
    "$what: licenses".takeIf { e.all("licenses", "license").none { it.at("name") == "Apache-2.0" && !it.at("url").isNullOrEmpty() } },
    "$what: developers".takeIf { e.all("developers", "developer").isEmpty() },
    "$what: scm/url".takeIf { e.at("scm/url").isNullOrEmpty() },
    "$what: scm/connection".takeIf { e.at("scm/connection").isNullOrEmpty() },
)

/**
 * What a release needs, checked on every `mvn verify` (this module is built after everything it checks): the license,
 * Central's POM metadata, and for each published jar its sources and its module name; the BOM lists every published
 * artifact at the project's version. In a release build (`-Prelease`) each jar's API docs too (Dokka runs only
 * there); [SignaturesTest] checks the signatures.
 */
class ArtifactsTest : FunSpec({

    test("the repository has the Apache-2.0 license") {
        val license = File(root, "LICENSE")
        license.isFile shouldBe true
        license.readText().trim() shouldStartWith "Apache License"
        license.readText().contains("Version 2.0, January 2004") shouldBe true
    }

    test("the parent POM has the metadata Maven Central requires, and every published POM a name and description") {
        val gaps = centralGaps("pom.xml", pom("pom.xml")).toMutableList()
        for (p in PUBLISHED) {
            val e = pom("${p.dir}/pom.xml")
            if (e.at("artifactId") != p.artifactId) gaps += "${p.dir}/pom.xml: artifactId is ${e.at("artifactId")}, not ${p.artifactId}"
            if (e.at("name").isNullOrEmpty()) gaps += "${p.dir}/pom.xml: name"
            if (e.at("description").isNullOrEmpty()) gaps += "${p.dir}/pom.xml: description"
        }
        gaps.shouldBeEmpty()
    }

    for (p in PUBLISHED) {
        test("${p.artifactId}: a jar with its module name, a sources jar and (in a release build) a javadoc jar") {
            val target = File(root, "${p.dir}/target")
            JarFile(File(target, "${p.artifactId}-$version.jar")).use { jar ->
                jar.manifest.mainAttributes.getValue("Automatic-Module-Name") shouldBe p.moduleName
                jar.manifest.mainAttributes.getValue("Implementation-Version") shouldBe version
            }
            JarFile(File(target, "${p.artifactId}-$version-sources.jar")).use { jar ->
                val sources = jar.entries().toList().count { it.name.endsWith(".kt") || it.name.endsWith(".java") }
                (sources > 0) shouldBe true
            }
            val javadoc = File(target, "${p.artifactId}-$version-javadoc.jar")
            if (release) {
                JarFile(javadoc).use { jar ->
                    (jar.getEntry("index.html") != null) shouldBe true // Dokka HTML
                    jar.entries().toList().none { it.name.contains("/internal/") || it.name.contains(".internal/") } shouldBe true
                }
            }
        }
    }

    test("module names are unique") {
        PUBLISHED.map { it.moduleName }.toSet().size shouldBe PUBLISHED.size
    }

    test("the BOM stands alone, has Central's metadata, and lists every published artifact at the project's version") {
        val bom = pom("bom/pom.xml")
        bom.at("parent") shouldBe null // importing it must not import the parent's third-party versions
        bom.at("version") shouldBe version
        bom.at("packaging") shouldBe "pom"
        centralGaps("bom/pom.xml", bom).shouldBeEmpty()
        val managed = bom.all("dependencyManagement/dependencies", "dependency")
        managed.map { it.at("artifactId") }.sortedBy { it } shouldBe PUBLISHED.map { it.artifactId }.sorted()
        managed.forEach { it.at("version") shouldBe "\${project.version}" }
    }
})
