package dev.tether.java.internal

/**
 * The last parameter of every internal constructor of a public class in this module, with its default: a
 * constructor that takes a value class compiles to a private constructor and a synthetic one, which javac cannot
 * call. So a type users only receive (a state, an event, a builder Tether hands out) cannot be made from Java, as
 * `internal` already forbids from Kotlin. release-check's ApiDumpTest fails when a Kotlin-internal member is
 * reachable from Java.
 */
@JvmInline
internal value class KotlinOnly(private val unused: Boolean = true)
