package dev.tether.release

import kotlin.metadata.KmClass
import kotlin.metadata.KmDeclarationContainer
import kotlin.metadata.Visibility
import kotlin.metadata.jvm.KotlinClassMetadata
import kotlin.metadata.jvm.fieldSignature
import kotlin.metadata.jvm.getterSignature
import kotlin.metadata.jvm.setterSignature
import kotlin.metadata.jvm.signature
import kotlin.metadata.visibility
import java.io.File
import java.lang.reflect.Constructor
import java.lang.reflect.Field
import java.lang.reflect.Member
import java.lang.reflect.Method
import java.lang.reflect.Modifier
import java.util.jar.JarFile

/**
 * A text dump of a jar's public API as a Java or Kotlin user sees it: every public class outside `internal`
 * packages, with its public and protected constructors, methods and fields (generic signatures, names with `$`
 * included), sorted. Kotlin `internal` and `private` declarations, which are public in bytecode but not API, are
 * left out of the API and listed apart, under "reachable from Java", so that such leaks are guarded too.
 */
internal object ApiDump {

    fun of(jar: File, loader: ClassLoader): String {
        val api = StringBuilder()
        val leaks = ArrayList<String>()
        for (name in classNames(jar)) {
            val c = Class.forName(name, false, loader)
            if (c.isSynthetic || c.isAnonymousClass || c.isLocalClass || !Modifier.isPublic(c.modifiers)) continue
            if (c.enclosingClass != null && !isPublicNest(c)) continue
            val kotlin = Kotlin.of(c)
            if (kotlin.hiddenClass) {
                leaks += "class ${c.name}"
                continue
            }
            val members = ArrayList<String>()
            val leaked = ArrayList<String>()
            for (m in c.declaredConstructors) member(m, kotlin, members, leaked) { render(it as Constructor<*>) }
            for (m in c.declaredMethods) if (!m.isBridge) member(m, kotlin, members, leaked) { render(it as Method) }
            for (m in c.declaredFields) member(m, kotlin, members, leaked) { render(it as Field) }
            leaked.forEach { leaks += "${c.name}: $it" }
            if (members.isEmpty() && kotlin.fileFacade) continue // a file of internal declarations only: nothing to use
            api.append(header(c)).append(" {\n")
            members.sorted().forEach { api.append("    ").append(it).append('\n') }
            api.append("}\n\n")
        }
        if (leaks.isNotEmpty()) {
            api.append("# Kotlin-internal, but reachable from Java\n")
            leaks.sorted().forEach { api.append(it).append('\n') }
        }
        return api.toString()
    }

    private fun classNames(jar: File): List<String> = JarFile(jar).use { j ->
        j.entries().toList().map { it.name }
            .filter { it.endsWith(".class") && it != "module-info.class" && !it.startsWith("META-INF/") }
            .map { it.removeSuffix(".class").replace('/', '.') }
            .filterNot { ".internal." in it }
            .sorted()
    }

    private fun isPublicNest(c: Class<*>): Boolean {
        var cur: Class<*>? = c
        while (cur != null) {
            if (!Modifier.isPublic(cur.modifiers) && !Modifier.isProtected(cur.modifiers)) return false
            cur = cur.enclosingClass
        }
        return true
    }

    private inline fun member(m: Member, kotlin: Kotlin, api: MutableList<String>, leaks: MutableList<String>, render: (Member) -> String) {
        if (m.isSynthetic) return
        if (!Modifier.isPublic(m.modifiers) && !Modifier.isProtected(m.modifiers)) return
        val line = render(m)
        if (kotlin.hides(m)) leaks += line else api += line
    }

    private fun header(c: Class<*>): String {
        val sb = StringBuilder(Modifier.toString(c.modifiers and (Modifier.PUBLIC or Modifier.PROTECTED or Modifier.ABSTRACT or Modifier.FINAL or Modifier.STATIC)))
        sb.append(if (c.isInterface) " interface " else if (c.isEnum) " enum " else " class ").append(c.name)
        c.genericSuperclass?.let { if (it != Any::class.java && it.typeName != "java.lang.Enum<${c.name}>") sb.append(" extends ").append(it.typeName) }
        val interfaces = c.genericInterfaces.map { it.typeName }
        if (interfaces.isNotEmpty()) sb.append(if (c.isInterface) " extends " else " implements ").append(interfaces.joinToString(", "))
        return sb.toString().trim()
    }

    private fun render(k: Constructor<*>): String = "${mods(k.modifiers)}<init>(${k.genericParameterTypes.joinToString(", ") { it.typeName }})"

    private fun render(m: Method): String =
        "${mods(m.modifiers)}${m.genericReturnType.typeName} ${m.name}(${m.genericParameterTypes.joinToString(", ") { it.typeName }})"

    private fun render(f: Field): String = "${mods(f.modifiers)}${f.genericType.typeName} ${f.name}"

    private fun mods(m: Int): String {
        val s = Modifier.toString(m and (Modifier.PUBLIC or Modifier.PROTECTED or Modifier.STATIC or Modifier.FINAL or Modifier.ABSTRACT))
        return if (s.isEmpty()) "" else "$s "
    }

    /** What the class's Kotlin metadata says is not API: its own visibility and its non-public members' JVM signatures. */
    private class Kotlin(val hiddenClass: Boolean, private val hiddenSignatures: Set<String>, val fileFacade: Boolean = false) {
        fun hides(m: Member): Boolean = jvmSignature(m) in hiddenSignatures

        companion object {
            fun of(c: Class<*>): Kotlin {
                val md = c.getAnnotation(Metadata::class.java) ?: return Kotlin(false, emptySet())
                val hidden = HashSet<String>()
                return when (val km = KotlinClassMetadata.readLenient(md)) {
                    is KotlinClassMetadata.Class -> {
                        val k = km.kmClass
                        k.constructors.filter { !isApi(it.visibility) }.forEach { ctor -> ctor.signature?.let { hidden += it.toString() } }
                        container(k, hidden)
                        companionField(c, k)?.let { hidden += it }
                        Kotlin(!isApi(k.visibility), hidden)
                    }
                    is KotlinClassMetadata.FileFacade -> Kotlin(false, hidden.also { container(km.kmPackage, it) }, fileFacade = true)
                    is KotlinClassMetadata.MultiFileClassPart -> Kotlin(false, hidden.also { container(km.kmPackage, it) }, fileFacade = true)
                    else -> Kotlin(false, emptySet())
                }
            }

            private fun isApi(v: Visibility) = v == Visibility.PUBLIC || v == Visibility.PROTECTED

            private fun container(k: KmDeclarationContainer, hidden: MutableSet<String>) {
                k.functions.filter { !isApi(it.visibility) }.forEach { f -> f.signature?.let { hidden += it.toString() } }
                for (p in k.properties) {
                    if (!isApi(p.visibility)) {
                        p.getterSignature?.let { hidden += it.toString() }
                        p.setterSignature?.let { hidden += it.toString() }
                        p.fieldSignature?.let { hidden += "field:" + it.name }
                    } else {
                        val setter = p.setter
                        if (setter != null && !isApi(setter.visibility)) p.setterSignature?.let { hidden += it.toString() }
                    }
                }
            }

            /** The static field that holds an internal or private companion object. */
            private fun companionField(c: Class<*>, k: KmClass): String? {
                val name = k.companionObject ?: return null
                val companion = c.declaredClasses.firstOrNull { it.simpleName == name } ?: return null
                val md = companion.getAnnotation(Metadata::class.java) ?: return null
                val km = KotlinClassMetadata.readLenient(md) as? KotlinClassMetadata.Class ?: return null
                return if (isApi(km.kmClass.visibility)) null else "field:$name"
            }

            fun jvmSignature(m: Member): String = when (m) {
                is Method -> m.name + "(" + m.parameterTypes.joinToString("") { desc(it) } + ")" + desc(m.returnType)
                is Constructor<*> -> "<init>(" + m.parameterTypes.joinToString("") { desc(it) } + ")V"
                else -> "field:" + m.name
            }

            private fun desc(c: Class<*>): String = when {
                c.isArray -> "[" + desc(c.componentType)
                c == Void.TYPE -> "V"
                c == java.lang.Boolean.TYPE -> "Z"
                c == java.lang.Byte.TYPE -> "B"
                c == java.lang.Character.TYPE -> "C"
                c == java.lang.Short.TYPE -> "S"
                c == java.lang.Integer.TYPE -> "I"
                c == java.lang.Long.TYPE -> "J"
                c == java.lang.Float.TYPE -> "F"
                c == java.lang.Double.TYPE -> "D"
                else -> "L" + c.name.replace('.', '/') + ";"
            }
        }
    }
}
