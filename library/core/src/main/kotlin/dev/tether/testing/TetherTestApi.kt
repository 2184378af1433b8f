package dev.tether.testing

/**
 * Marks [TestValues]: factories for values only Tether makes in production (states, disconnects, handshakes,
 * connect contexts, exceptions), so that a test of your own hook or policy code can build one without a connection.
 * Not for production code. Opt in with `@OptIn(TetherTestApi::class)`.
 */
@RequiresOptIn(
    level = RequiresOptIn.Level.ERROR,
    message = "TestValues is for tests: production code receives these values from Tether.",
)
@Retention(AnnotationRetention.BINARY)
@Target(AnnotationTarget.CLASS, AnnotationTarget.FUNCTION)
public annotation class TetherTestApi
