package dev.tether.release

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.io.File

/**
 * The guarded public API: each published module's API (see [ApiDump]) must equal its checked-in dump,
 * `<module>/api/<artifact>.api`. A change fails the build with a diff; when the change is meant, regenerate with
 * `mvn verify -pl release-check -am -Dtether.api.update=true`, review the dump's diff and commit it with the change
 * (and a CHANGELOG line).
 */
class ApiDumpTest : FunSpec({

    val root = File(System.getProperty("tether.root") ?: "..").canonicalFile
    val version = System.getProperty("tether.version") ?: error("run through Maven: tether.version is not set")
    val update = System.getProperty("tether.api.update") == "true"
    val modules = listOf(
        "library/core" to "tether-core",
        "library/ktor" to "tether-ktor",
        "library/phoenix" to "tether-phoenix",
        "java-interop" to "tether-java",
        "library/testkit" to "tether-testkit",
        "library/micrometer" to "tether-micrometer",
        "library/serialization" to "tether-serialization",
        "library/jackson" to "tether-jackson",
    )

    for ((dir, artifact) in modules) {
        test("$artifact: the public API is the checked-in one") {
            val actual = ApiDump.of(File(root, "$dir/target/$artifact-$version.jar"), ApiDumpTest::class.java.classLoader)
            val file = File(root, "$dir/api/$artifact.api")
            if (update) {
                file.parentFile.mkdirs()
                file.writeText(actual)
            }
            val expected = if (file.isFile) file.readText() else ""
            if (actual != expected) {
                throw AssertionError(
                    "The public API of $artifact changed (- checked in, + now). If that is intended, run " +
                        "mvn verify -pl release-check -am -Dtether.api.update=true and commit $dir/api/$artifact.api:\n" +
                        diff(expected, actual),
                )
            }
        }
    }

    test("no public top-level class name is in two of Tether's packages (wildcard imports stay unambiguous)") {
        val byName = HashMap<String, MutableSet<String>>()
        for ((dir, artifact) in modules) {
            val dump = ApiDump.of(File(root, "$dir/target/$artifact-$version.jar"), ApiDumpTest::class.java.classLoader)
            for (line in dump.lines()) {
                val m = Regex("""^public .*\b(?:class|interface|enum) ([a-z.]+)\.([A-Z]\w*)(?:\s|$)""").find(line) ?: continue
                byName.getOrPut(m.groupValues[2]) { HashSet() } += m.groupValues[1]
            }
        }
        byName.filterValues { it.size > 1 } shouldBe emptyMap()
        (byName.size > 50) shouldBe true // the dumps were read
    }

    test("the diff names what was removed and what was added") {
        diff("class A {\n    x()\n    y()\n}\n", "class A {\n    x()\n    z()\n}\n") shouldBe "@ class A {\n- y()\n@ class A {\n+ z()\n"
    }
})

/**
 * The lines only in [old] (`- `) and only in [new] (`+ `), in order, each changed member under its class's header
 * (`@ `): enough to read an API change.
 */
internal fun diff(old: String, new: String): String {
    val a = old.lines().filter { it.isNotBlank() }
    val b = new.lines().filter { it.isNotBlank() }
    val sb = StringBuilder()
    fun side(lines: List<String>, other: List<String>, mark: String) {
        val left = other.groupingBy { it }.eachCount().toMutableMap()
        var header = ""
        var shown = ""
        for (line in lines) {
            if (!line.startsWith(" ") && line != "}") header = line
            if ((left[line] ?: 0) > 0) {
                left[line] = left.getValue(line) - 1
                continue
            }
            if (line.startsWith(" ") && header != shown) {
                sb.append("@ ").append(header).append('\n')
                shown = header
            }
            sb.append(mark).append(' ').append(line.trim()).append('\n')
        }
    }
    side(a, b, "-")
    side(b, a, "+")
    return sb.toString()
}
