package dev.tether.docs

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.ints.shouldBeGreaterThan
import java.io.File

/**
 * docs/architecture.md names the code's pieces: the layer diagram (`internal/Supervisor`, `SessionReader`, …) and the
 * ownership table (its first two columns). Each name must still be a class, object or interface in the main sources,
 * so a rename or a split that forgets the page fails here, naming what the page still says.
 */
class ArchitectureDocTest : FunSpec({
    val root = generateSequence(File("").absoluteFile) { it.parentFile }.first { File(it, "docs/architecture.md").isFile }
    val page = File(root, "docs/architecture.md").readText()

    /** Every class, object and interface declared in the main sources of every module. */
    val declared: Set<String> by lazy {
        root.walkTopDown()
            .onEnter { it.name != "target" && it.name != ".git" && it.name != "node_modules" }
            .filter { it.isFile && it.extension == "kt" && it.path.contains("/src/main/") }
            .flatMap { f -> DECLARATION.findAll(f.readText()).map { it.groupValues[1] } }
            .toSet()
    }

    test("every class the layer diagram names exists") {
        val diagram = page.substringAfter("## Layers").substringAfter("```").substringBefore("```")
        val names = CLASS_IN_DIAGRAM.findAll(diagram).map { it.groupValues[1] }.filter { it !in NOT_CLASSES }.toSet()
        names.size shouldBeGreaterThan 15 // the diagram was read
        names.filter { it !in declared }.shouldBeEmpty()
    }

    test("every piece the ownership table names exists") {
        val table = page.substringAfter("## Who owns what").substringBefore("\n## ")
        val rows = table.lines().filter { it.startsWith("| ") && !it.startsWith("| state ") && !it.startsWith("|---") }
        rows.size shouldBeGreaterThan 10 // the table was read
        val names = rows.flatMap { row ->
            row.split("|").drop(1).take(2).flatMap { cell -> CODE.findAll(cell).map { it.groupValues[1] } }
        }.map { it.substringBefore('.') }.filter { it.first().isUpperCase() && it.all(Char::isLetterOrDigit) }.toSet()
        names.size shouldBeGreaterThan 10
        names.filter { it !in declared }.shouldBeEmpty()
    }
}) {
    private companion object {
        val DECLARATION = Regex("""(?:class|object|interface)\s+([A-Z][A-Za-z0-9]*)""")
        val CODE = Regex("`([^`]+)`")

        /** A capitalised word of the diagram: a class name (words such as "Tether" or "Ktor" are listed apart). */
        val CLASS_IN_DIAGRAM = Regex("""(?<![\w.])([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+)\b""")
        val NOT_CLASSES = setOf("HttpClient", "SSLEngine") // Ktor's and the JDK's
    }
}
