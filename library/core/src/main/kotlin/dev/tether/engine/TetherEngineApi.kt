package dev.tether.engine

/**
 * Marks the engine SPI: the seam between Tether's connection semantics and the code that moves WebSocket frames
 * (Tether's own NIO engine by default; `tether-ktor` for a Ktor `HttpClient`). It is for engine authors, not for
 * applications, and may change between minor versions while Tether is 0.x. It also guards the constructors of
 * values applications only receive but engines and protocol modules build ([dev.tether.Handshake], the
 * [dev.tether.TetherException]s): a test that needs one opts in too. Opt in with `@OptIn(TetherEngineApi::class)`.
 */
@RequiresOptIn(
    level = RequiresOptIn.Level.ERROR,
    message = "The engine SPI is for engine modules such as tether-ktor and may change in any 0.x release.",
)
@Retention(AnnotationRetention.BINARY)
@Target(AnnotationTarget.CLASS, AnnotationTarget.FUNCTION, AnnotationTarget.PROPERTY, AnnotationTarget.CONSTRUCTOR)
public annotation class TetherEngineApi
