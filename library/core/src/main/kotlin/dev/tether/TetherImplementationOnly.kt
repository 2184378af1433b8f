package dev.tether

/**
 * Marks interfaces that only Tether implements ([Connection], [HookScope]): you call them, you do not implement them,
 * and they may gain members in any release. Implementing one (say, a test double) needs an explicit
 * `@OptIn(TetherImplementationOnly::class)`, which accepts that it may break on upgrade; prefer the test kit's real
 * servers to a fake connection.
 */
@RequiresOptIn(
    level = RequiresOptIn.Level.ERROR,
    message = "Only Tether implements this interface: it may gain members in any release.",
)
@Retention(AnnotationRetention.BINARY)
@Target(AnnotationTarget.CLASS)
public annotation class TetherImplementationOnly
