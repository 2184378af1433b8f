package dev.tether

/** Marks Tether's configuration DSL so that nested blocks cannot reach outer receivers by accident. */
@DslMarker
public annotation class TetherDsl
