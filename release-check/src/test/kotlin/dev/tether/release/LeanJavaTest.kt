package dev.tether.release

import dev.tether.testkit.TestWebSocketServer
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.io.File
import java.net.URLClassLoader
import java.time.Duration
import java.util.Optional
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit

/**
 * A Java user of plain WebSockets depends on `tether-java` alone: Phoenix and kotlinx-serialization are optional
 * dependencies of the facade. This runs the facade from a class loader that has neither.
 */
class LeanJavaTest : FunSpec({

    test("tether-java declares tether-phoenix and kotlinx-serialization optional") {
        val deps = DocumentBuilderFactoryHolder.pom("java-interop/pom.xml")
        for (artifact in listOf("tether-phoenix", "kotlinx-serialization-json-jvm")) {
            val d = deps.first { it.first == artifact }
            d.second shouldBe "true"
        }
    }

    test("TetherClient connects and echoes with neither Phoenix nor kotlinx-serialization on the class path") {
        val lean = System.getProperty("java.class.path").split(File.pathSeparator)
            .filter { it.isNotEmpty() }
            .filterNot { "phoenix" in it || "kotlinx-serialization" in it || "testkit" in it || "kotest" in it }
            .map { File(it).toURI().toURL() }
        URLClassLoader(lean.toTypedArray(), ClassLoader.getPlatformClassLoader()).use { loader ->
            shouldThrow<ClassNotFoundException> { loader.loadClass("dev.tether.phoenix.PhoenixSocket") }
            shouldThrow<ClassNotFoundException> { loader.loadClass("kotlinx.serialization.json.Json") }
            TestWebSocketServer.echo().use { server ->
                val clients = loader.loadClass("dev.tether.java.TetherClient")
                val builder = clients.getMethod("builder", String::class.java).invoke(null, server.url())
                val client = builder.javaClass.getMethod("build").invoke(builder)
                val conn = (client.javaClass.getMethod("connect").invoke(client) as CompletableFuture<*>).get(5, TimeUnit.SECONDS)
                (conn.javaClass.getMethod("sendText", String::class.java).invoke(conn, "lean") as CompletableFuture<*>).get(5, TimeUnit.SECONDS)
                val frame = (conn.javaClass.getMethod("receive", Duration::class.java).invoke(conn, Duration.ofSeconds(5)) as Optional<*>).get()
                frame.javaClass.getMethod("getText").invoke(frame) shouldBe "lean"
                (conn.javaClass.getMethod("close", Int::class.javaPrimitiveType, String::class.java).invoke(conn, 1000, "") as CompletableFuture<*>)
                    .get(5, TimeUnit.SECONDS)
            }
        }
    }
})

/** The dependencies of a POM as (artifactId, optional) pairs. */
private object DocumentBuilderFactoryHolder {
    fun pom(path: String): List<Pair<String, String>> {
        val root = File(System.getProperty("tether.root") ?: "..").canonicalFile
        val doc = javax.xml.parsers.DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(File(root, path))
        val deps = doc.documentElement.getElementsByTagName("dependency")
        return (0 until deps.length).map { i ->
            val d = deps.item(i) as org.w3c.dom.Element
            fun text(tag: String) = d.getElementsByTagName(tag).item(0)?.textContent?.trim() ?: ""
            text("artifactId") to text("optional")
        }
    }
}
