package dev.tether.release

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.shouldBe
import org.bouncycastle.bcpg.ArmoredInputStream
import org.bouncycastle.openpgp.PGPPublicKeyRingCollection
import org.bouncycastle.openpgp.PGPSignatureList
import org.bouncycastle.openpgp.PGPUtil
import org.bouncycastle.openpgp.bc.BcPGPObjectFactory
import org.bouncycastle.openpgp.operator.bc.BcKeyFingerprintCalculator
import org.bouncycastle.openpgp.operator.bc.BcPGPContentVerifierBuilderProvider
import java.io.File

/**
 * A release build (`mvn -Prelease verify`) signs every published artifact: each module's jar, sources jar, javadoc
 * jar and POM, the BOM's and the parent's POM, and nothing of the unpublished modules. Each signature is checked
 * against the public half of the throwaway key the build made (docs/releasing.md). Runs only in a release build.
 */
class SignaturesTest : FunSpec({
    val publicKeyFile = File(System.getProperty("tether.signing.publicKey") ?: "../target/throwaway-signing-key/public.asc")

    /**
     * Every file Central receives, as (the file, where its signature is): each published module's jars (with the
     * classified ones, such as core's test jar that tether-ktor's tests use) and POM, the BOM's and the parent's POM.
     */
    fun published(): List<Pair<File, File>> =
        PUBLISHED.flatMap { p ->
            val target = File(root, "${p.dir}/target")
            val jars = target.listFiles { f -> f.name.startsWith("${p.artifactId}-$version") && f.name.endsWith(".jar") }!!
                .sortedBy { it.name }
            listOf("", "-sources", "-javadoc").map { File(target, "${p.artifactId}-$version$it.jar") }.filterNot { it in jars }
                .map { it to File(it.path + ".asc") } + // missing ones are reported below
                jars.map { it to File(it.path + ".asc") } +
                (File(root, "${p.dir}/pom.xml") to File(target, "${p.artifactId}-$version.pom.asc"))
        } + (File(root, "bom/pom.xml") to File(root, "bom/target/tether-bom-$version.pom.asc")) +
            (File(root, "pom.xml") to File(root, "target/tether-parent-$version.pom.asc"))

    test("every published artifact has a signature made with the build's key, and it verifies").config(enabled = release && publicKeyFile.isFile) {
        val keys = PGPPublicKeyRingCollection(PGPUtil.getDecoderStream(publicKeyFile.inputStream()), BcKeyFingerprintCalculator())
        val problems = mutableListOf<String>()
        val files = published()
        for ((artifact, signature) in files) {
            val name = artifact.relativeTo(root).path
            if (!artifact.isFile) { problems += "$name is missing"; continue }
            if (!signature.isFile) { problems += "$name has no signature (${signature.relativeTo(root)})"; continue }
            val sig = ArmoredInputStream(signature.inputStream()).use { input ->
                (BcPGPObjectFactory(input).nextObject() as PGPSignatureList)[0]
            }
            val key = keys.getPublicKey(sig.keyID)
            if (key == null) { problems += "$name is signed by key ${sig.keyID.toULong().toString(16)}, not the build's"; continue }
            sig.init(BcPGPContentVerifierBuilderProvider(), key)
            sig.update(artifact.readBytes())
            if (!sig.verify()) problems += "the signature of $name does not verify"
        }
        problems.shouldBeEmpty()
        println("signatures: ${files.size} published files, each signed by the build's key")
    }

    test("unpublished modules are never signed").config(enabled = release) {
        for (dir in listOf("examples", "release-check", "docs-check")) {
            File(root, "$dir/target").listFiles { f -> f.name.endsWith(".asc") }.orEmpty().toList().shouldBeEmpty()
        }
    }
})
