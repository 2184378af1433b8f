package dev.tether.java

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow

/**
 * A switch that lets connections run or holds them paused, for Java: pass it to `TetherClient.Builder.gate`, then
 * call [open] and [close] from your app's lifecycle or connectivity callbacks. Thread-safe; one gate may serve many
 * clients.
 */
public class ConnectionGate @JvmOverloads constructor(initiallyOpen: Boolean = true) {
    @get:JvmSynthetic
    internal val flow: MutableStateFlow<Boolean> = MutableStateFlow(initiallyOpen)

    /** Lets connections run: they connect at once, with the attempt count reset (e.g. the network came back). */
    public fun open() {
        flow.value = true
    }

    /** Holds connections paused: they close gracefully and keep what is queued. */
    public fun close() {
        flow.value = false
    }

    /** True while open. */
    public fun isOpen(): Boolean = flow.value

    override fun toString(): String = "ConnectionGate(open=${flow.value})"
}
