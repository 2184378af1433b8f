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

    test("nothing Kotlin-internal is reachable from Java: no constructor of a type users only receive, no companion") {
        val leaks = modules.flatMap { (dir, artifact) ->
            ApiDump.of(File(root, "$dir/target/$artifact-$version.jar"), ApiDumpTest::class.java.classLoader)
                .substringAfter(REACHABLE, "").lines().filter { it.isNotBlank() }.map { "$artifact: $it" }
        }
        leaks shouldBe emptyList()
    }

    test("tether-java's API names no Kotlin-only type: Java users see Java types only") {
        val dump = ApiDump.of(File(root, "java-interop/target/tether-java-$version.jar"), ApiDumpTest::class.java.classLoader)
        kotlinOnlyTypes(dump) shouldBe emptyList()
        // the check itself: it finds a Kotlin function type, a mangled name and a Kotlin Duration
        kotlinOnlyTypes(
            "    public final void f(kotlin.jvm.functions.Function1<? super java.lang.String, kotlin.Unit>)\n" +
                "    public final long getDelay-UwyO8pc()\n    public final kotlin.time.Duration d()\n",
        ).size shouldBe 3
    }

    test("the diff names what was removed and what was added") {
        diff("class A {\n    x()\n    y()\n}\n", "class A {\n    x()\n    z()\n}\n") shouldBe "@ class A {\n- y()\n@ class A {\n+ z()\n"
    }
})

/** The heading of the part of a dump that lists Kotlin-internal members public in bytecode (see [ApiDump]). */
private const val REACHABLE = "# Kotlin-internal, but reachable from Java"

/**
 * The lines of an API [dump] that name a Kotlin-only type (`kotlin.*`, `kotlinx.*`) or a member whose name Kotlin
 * mangled (`getDelay-UwyO8pc`: a value class in its signature), which Java cannot call. One exception: the
 * `getEntries()` Kotlin adds to every enum returns `kotlin.enums.EnumEntries`, which is a `java.util.List`.
 */
internal fun kotlinOnlyTypes(dump: String): List<String> = dump.substringBefore(REACHABLE).lines()
    .filter { Regex("""\bkotlinx?\.""").containsMatchIn(it) || Regex("""\s[a-z]\w*-\w+\(""").containsMatchIn(it) }
    .filterNot { it.trim().matches(Regex("""public static kotlin\.enums\.EnumEntries<[\w.$]+> getEntries\(\)""")) }

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
