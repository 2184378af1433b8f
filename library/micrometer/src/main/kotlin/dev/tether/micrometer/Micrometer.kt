package dev.tether.micrometer

import dev.tether.WebSocketClientBuilder
import io.micrometer.core.instrument.MeterRegistry
import io.micrometer.core.instrument.Tag

/**
 * Records the metrics of every connection of this client in [registry] (see [TetherMetrics]), from before each
 * connection's first attempt. [tags] go on every meter; [tagConnectionId] adds the connection's id, which a client
 * with several connections per registry needs for its per-connection gauges (state, outbox depth) to stay apart.
 */
public fun WebSocketClientBuilder.micrometer(
    registry: MeterRegistry,
    tags: Iterable<Tag> = emptyList(),
    tagConnectionId: Boolean = false,
) {
    watch(TetherMetrics.watcher(registry, tags, tagConnectionId))
}
