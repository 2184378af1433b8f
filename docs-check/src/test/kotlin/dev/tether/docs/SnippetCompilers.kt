package dev.tether.docs

import org.jetbrains.kotlin.cli.common.arguments.K2JVMCompilerArguments
import org.jetbrains.kotlin.cli.common.messages.CompilerMessageSeverity
import org.jetbrains.kotlin.cli.common.messages.CompilerMessageSourceLocation
import org.jetbrains.kotlin.cli.common.messages.MessageCollector
import org.jetbrains.kotlin.cli.jvm.K2JVMCompiler
import org.jetbrains.kotlin.config.Services
import java.io.File
import java.io.StringWriter
import javax.tools.Diagnostic
import javax.tools.DiagnosticCollector
import javax.tools.JavaFileObject
import javax.tools.ToolProvider

/** A compiler error, placed in the Markdown file: `docs/phoenix.md:88: unresolved reference 'Failed'`. */
data class SnippetError(val file: String, val line: Int, val message: String) {
    override fun toString() = "$file:$line: $message"
}

/** The class path the snippets compile against: this test JVM's, the compilers themselves left out. */
fun snippetClasspath(): List<File> =
    System.getProperty("java.class.path").split(File.pathSeparator)
        .filter { it.isNotBlank() }
        .map(::File)
        .filterNot { f -> COMPILER_JARS.any { f.name.startsWith(it) } }

private val COMPILER_JARS = listOf("kotlin-compiler-embeddable", "kotlin-daemon-embeddable", "kotlin-build-tools-api")

/** The jar of the kotlinx.serialization compiler plugin, for `@Serializable` snippets. */
private fun serializationPlugin(): File =
    System.getProperty("java.class.path").split(File.pathSeparator).map(::File)
        .single { it.name.startsWith("kotlin-serialization-compiler-plugin-embeddable") }

/** Compiles [sources] (Kotlin) into [out] in this JVM; returns the errors, placed in their Markdown files. */
fun compileKotlin(sources: List<SnippetSource>, out: File): List<SnippetError> {
    if (sources.isEmpty()) return emptyList()
    val srcDir = File(out, "kotlin-src").apply { deleteRecursively(); mkdirs() }
    val byPath = sources.associateBy { s -> File(srcDir, s.fileName).apply { writeText(s.text) }.canonicalPath }
    val errors = mutableListOf<SnippetError>()
    val collector = object : MessageCollector {
        override fun clear() = Unit
        override fun hasErrors() = errors.isNotEmpty()
        override fun report(severity: CompilerMessageSeverity, message: String, location: CompilerMessageSourceLocation?) {
            if (!severity.isError) return
            val source = location?.path?.let { byPath[File(it).canonicalPath] }
            errors += if (source == null) SnippetError("(compiler)", 0, message)
            else SnippetError(source.snippet.file, source.markdownLine(location.line), message)
        }
    }
    val args = K2JVMCompilerArguments().apply {
        freeArgs = byPath.keys.toList()
        classpath = snippetClasspath().joinToString(File.pathSeparator)
        destination = File(out, "kotlin-classes").path
        noStdlib = true
        noReflect = true
        jvmTarget = "17"
        pluginClasspaths = arrayOf(serializationPlugin().path)
        suppressWarnings = true
        optIn = arrayOf("dev.tether.engine.TetherEngineApi")
    }
    K2JVMCompiler().exec(collector, Services.EMPTY, args)
    return errors
}

/** Compiles [sources] (Java) with the JDK's compiler; returns the errors, placed in their Markdown files. */
fun compileJava(sources: List<SnippetSource>, out: File): List<SnippetError> {
    if (sources.isEmpty()) return emptyList()
    val compiler = ToolProvider.getSystemJavaCompiler() ?: error("no Java compiler in this JVM (a JRE, not a JDK?)")
    val srcDir = File(out, "java-src").apply { deleteRecursively(); mkdirs() }
    val classes = File(out, "java-classes").apply { mkdirs() }
    val byPath = sources.associateBy { s ->
        File(srcDir, s.fileName).apply { parentFile.mkdirs(); writeText(s.text) }.canonicalPath
    }
    val diagnostics = DiagnosticCollector<JavaFileObject>()
    compiler.getStandardFileManager(diagnostics, null, Charsets.UTF_8).use { files ->
        val units = files.getJavaFileObjectsFromFiles(byPath.keys.map(::File))
        val options = listOf(
            "-classpath", snippetClasspath().joinToString(File.pathSeparator),
            "-d", classes.path, "-proc:none", "-nowarn", "-Xlint:none",
        )
        compiler.getTask(StringWriter(), files, diagnostics, options, null, units).call()
    }
    return diagnostics.diagnostics.filter { it.kind == Diagnostic.Kind.ERROR }.map { d ->
        val source = d.source?.toUri()?.let { byPath[File(it).canonicalPath] }
        if (source == null) SnippetError("(javac)", 0, d.getMessage(null))
        else SnippetError(source.snippet.file, source.markdownLine(d.lineNumber.toInt()), d.getMessage(null))
    }
}

/** The result of checking snippets: what failed, and what was left out and why. */
data class SnippetReport(val compiled: Int, val skipped: List<Pair<Snippet, String>>, val errors: List<SnippetError>)

/** Compiles every snippet of [snippets] that should be compiled on this JDK, into [out]. */
fun checkSnippets(snippets: List<Snippet>, out: File): SnippetReport {
    val jdk = Runtime.version().feature()
    val skipped = mutableListOf<Pair<Snippet, String>>()
    val kotlin = mutableListOf<SnippetSource>()
    val java = mutableListOf<SnippetSource>()
    snippets.forEachIndexed { i, s ->
        when {
            s.skipReason != null -> skipped += s to s.skipReason
            s.minimumJdk > jdk -> skipped += s to "needs JDK ${s.minimumJdk}, this is $jdk"
            s.language == "kotlin" -> kotlin += kotlinSource(s, i)
            else -> java += javaSource(s, i)
        }
    }
    val errors = compileKotlin(kotlin, out) + compileJava(java, out)
    return SnippetReport(kotlin.size + java.size, skipped, errors)
}
