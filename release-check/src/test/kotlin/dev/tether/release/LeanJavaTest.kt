package dev.tether.release

import dev.tether.testkit.TestWebSocketServer
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.io.File
import java.lang.invoke.MethodHandles
import java.lang.invoke.MethodType
import java.net.URLClassLoader
import java.time.Duration
import java.util.Optional
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit

/**
 * A Java user of plain WebSockets depends on `tether-java` alone: Phoenix, kotlinx-serialization and Micrometer are
 * optional dependencies of the facade. This runs the facade from a class loader that has none of them.
 */
class LeanJavaTest : FunSpec({

    test("tether-java declares tether-phoenix, kotlinx-serialization and tether-micrometer optional") {
        val deps = DocumentBuilderFactoryHolder.pom("java-interop/pom.xml")
        for (artifact in listOf("tether-phoenix", "kotlinx-serialization-json-jvm", "tether-micrometer")) {
            val d = deps.first { it.first == artifact }
            d.second shouldBe "true"
        }
    }

    test("TetherClient connects and echoes with neither Phoenix, kotlinx-serialization nor Micrometer on the class path") {
        val lean = System.getProperty("java.class.path").split(File.pathSeparator)
            .filter { it.isNotEmpty() }
            .filterNot { "phoenix" in it || "kotlinx-serialization" in it || "testkit" in it || "kotest" in it || "micrometer" in it }
            .map { File(it).toURI().toURL() }
        URLClassLoader(lean.toTypedArray(), ClassLoader.getPlatformClassLoader()).use { loader ->
            shouldThrow<ClassNotFoundException> { loader.loadClass("dev.tether.phoenix.PhoenixSocket") }
            shouldThrow<ClassNotFoundException> { loader.loadClass("kotlinx.serialization.json.Json") }
            shouldThrow<ClassNotFoundException> { loader.loadClass("io.micrometer.core.instrument.MeterRegistry") }
            TestWebSocketServer.echo().use { server ->
                // Each call is linked as javac-compiled code links it (by name and type, not by listing a class's
                // methods, which would load every type in every signature, the optional ones too).
                val lookup = MethodHandles.publicLookup()
                fun cls(name: String) = loader.loadClass(name)
                val builderType = cls("dev.tether.java.TetherClient\$Builder")
                val clientType = cls("dev.tether.java.TetherClient")
                val connType = cls("dev.tether.java.TetherConnection")
                val builder = lookup.findStatic(clientType, "builder", MethodType.methodType(builderType, String::class.java)).invoke(server.url())
                val client = lookup.findVirtual(builderType, "build", MethodType.methodType(clientType)).invoke(builder)
                val connect = lookup.findVirtual(clientType, "connect", MethodType.methodType(CompletableFuture::class.java))
                val conn = (connect.invoke(client) as CompletableFuture<*>).get(5, TimeUnit.SECONDS)
                val send = lookup.findVirtual(connType, "sendText", MethodType.methodType(CompletableFuture::class.java, String::class.java))
                (send.invoke(conn, "lean") as CompletableFuture<*>).get(5, TimeUnit.SECONDS)
                val receive = lookup.findVirtual(connType, "receive", MethodType.methodType(Optional::class.java, Duration::class.java))
                val frame = (receive.invoke(conn, Duration.ofSeconds(5)) as Optional<*>).get()
                frame.javaClass.getMethod("getText").invoke(frame) shouldBe "lean"
                val close = lookup.findVirtual(connType, "close", MethodType.methodType(CompletableFuture::class.java, Int::class.javaPrimitiveType, String::class.java))
                (close.invoke(conn, 1000, "") as CompletableFuture<*>)
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
