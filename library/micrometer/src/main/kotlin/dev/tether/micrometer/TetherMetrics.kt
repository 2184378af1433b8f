package dev.tether.micrometer

import dev.tether.Connection
import dev.tether.ConnectionEvent
import dev.tether.ConnectionState
import dev.tether.FrameKind
import io.micrometer.core.instrument.Counter
import io.micrometer.core.instrument.Gauge
import io.micrometer.core.instrument.Meter
import io.micrometer.core.instrument.MeterRegistry
import io.micrometer.core.instrument.Tag
import io.micrometer.core.instrument.Tags
import io.micrometer.core.instrument.Timer
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.launch
import kotlin.time.toJavaDuration

/**
 * A [Connection]'s metrics in a Micrometer [MeterRegistry], fed by [Connection.events] (see `docs/observability.md`
 * for the list): its state, connects and disconnects by outcome and cause, reconnect delays, messages and bytes each
 * way, send failures by reason, the outbox depth and the keepalive's round trips.
 *
 * Tags are bounded: exception class names, standard close codes (application codes as `3xxx` / `4xxx`), never a URL
 * or a query value; the connection's id only with `tagConnectionId`. The events are collected on
 * `Dispatchers.Default` from [bind] until the connection closes or [close] is called; meters are updated there, never
 * on the connection's own threads. If the binder lags more than `Connection.EVENT_BUFFER` events, the missed ones
 * are counted in `tether.events.dropped`.
 */
public class TetherMetrics private constructor(
    private val connection: Connection,
    private val registry: MeterRegistry,
    private val tags: Tags,
) : AutoCloseable {
    private var scope: CoroutineScope? = null
    private val meters = ArrayList<Meter>()

    /** Registers the gauges, then records every event until the connection has closed. */
    private suspend fun run() {
        registerGauges()
        connection.events.takeWhile { it !is ConnectionEvent.Closed }.collect { record(it) }
    }

    /**
     * The gauges follow this connection. A gauge with the same name and tags already in the registry (an earlier
     * connection of the same client, closed or not, without `tagConnectionId`) is replaced: a registry keeps the first
     * meter registered under an id, which would otherwise go on showing the old connection.
     */
    private fun registerGauges() {
        for (kind in StateKind.values()) {
            meters += gauge("tether.connection.state", "1 for the connection's current state, 0 for the others", Tags.of("state", kind.tag)) {
                if (StateKind.of(it.state.value) == kind) 1.0 else 0.0
            }
        }
        meters += gauge("tether.outbox.depth", "frames queued and not yet written", Tags.empty()) { it.outboxDepth.toDouble() }
        meters += gauge("tether.incoming.backlog", "messages read but waiting because the incoming buffer is full", Tags.empty()) {
            it.incomingBacklog.toDouble()
        }
    }

    private fun gauge(name: String, description: String, extra: Tags, value: (Connection) -> Double): Gauge {
        val all = tags.and(extra)
        registry.remove(Meter.Id(name, all, null, description, Meter.Type.GAUGE))
        return Gauge.builder(name, connection, value).description(description).tags(all).register(registry)
    }

    private fun record(e: ConnectionEvent) {
        when (e) {
            is ConnectionEvent.Connected -> counter("tether.connects", "outcome", "success", "error", "none").increment()
            is ConnectionEvent.ConnectFailed ->
                counter("tether.connects", "outcome", "failure", "error", e.error.javaClass.simpleName).increment()
            is ConnectionEvent.Disconnected -> counter(
                "tether.disconnects",
                "initiator", if (e.disconnect.byServer) "server" else "client",
                "code", codeTag(e.disconnect.code),
                "cause", e.disconnect.cause?.javaClass?.simpleName ?: "none",
            ).increment()
            is ConnectionEvent.ReconnectScheduled -> timer("tether.reconnect.delay").record(e.delay.toJavaDuration())
            is ConnectionEvent.FrameIn -> frame("in", e.kind, e.size)
            is ConnectionEvent.FrameOut -> frame("out", e.kind, e.size)
            is ConnectionEvent.Pong -> e.rtt?.let { timer("tether.ping.rtt").record(it.toJavaDuration()) }
            is ConnectionEvent.SendFailed -> counter("tether.send.failures", "reason", e.reason.name.lowercase()).increment()
            is ConnectionEvent.EventsDropped -> counter("tether.events.dropped").increment(e.count.toDouble())
            else -> Unit
        }
    }

    private fun frame(direction: String, kind: FrameKind, size: Int) {
        when (kind) {
            FrameKind.TEXT, FrameKind.BINARY -> {
                counter("tether.messages", "direction", direction, "type", kind.name.lowercase()).increment()
                counter("tether.bytes", "direction", direction).increment(size.toDouble())
            }
            FrameKind.CONTINUATION -> counter("tether.bytes", "direction", direction).increment(size.toDouble())
            else -> Unit
        }
    }

    private fun counter(name: String, vararg tagPairs: String): Counter =
        Counter.builder(name).tags(tags).tags(*tagPairs).register(registry).also { remember(it) }

    private fun timer(name: String): Timer = Timer.builder(name).tags(tags).register(registry).also { remember(it) }

    private fun remember(m: Meter) {
        synchronized(meters) { if (meters.none { it.id == m.id }) meters += m }
    }

    /** Stops collecting and removes this binding's meters from the registry. Idempotent. */
    override fun close() {
        scope?.cancel()
        synchronized(meters) {
            // a gauge a later connection has taken over (see registerGauges) is no longer this binding's to remove
            val current = registry.meters.associateBy { it.id }
            meters.forEach { if (current[it.id] === it) registry.remove(it) }
            meters.clear()
        }
    }

    private enum class StateKind(val tag: String) {
        CONNECTING("connecting"), CONNECTED("connected"), RECONNECTING("reconnecting"), PAUSED("paused"),
        DOWN("down"), CLOSING("closing"), CLOSED("closed");

        companion object {
            fun of(s: ConnectionState): StateKind = when (s) {
                is ConnectionState.Connecting -> CONNECTING
                is ConnectionState.Connected -> CONNECTED
                is ConnectionState.Reconnecting -> RECONNECTING
                is ConnectionState.Paused -> PAUSED
                is ConnectionState.Down -> DOWN
                is ConnectionState.Closing -> CLOSING
                is ConnectionState.Closed -> CLOSED
            }
        }
    }

    public companion object {
        /**
         * Starts recording [connection]'s metrics in [registry] with [tags] on every meter (plus `connection`, its
         * id, if [tagConnectionId]: only for a bounded number of connections). Bound after `connect()`, it sees what
         * happens from then on (the first attempt may be over): `micrometer(registry)` in the client's builder sees
         * everything. Close the result to stop and remove the meters.
         */
        @JvmStatic
        @JvmOverloads
        public fun bind(
            connection: Connection,
            registry: MeterRegistry,
            tags: Iterable<Tag> = emptyList(),
            tagConnectionId: Boolean = false,
        ): TetherMetrics {
            val metrics = TetherMetrics(connection, registry, allTags(connection, tags, tagConnectionId))
            val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineName("tether-micrometer"))
            metrics.scope = scope
            scope.launch(start = CoroutineStart.UNDISPATCHED) { metrics.run() }
            return metrics
        }

        /** Records into [registry] for every connection of this client from before its first attempt (see [bind]). */
        @JvmSynthetic
        internal fun watcher(registry: MeterRegistry, tags: Iterable<Tag>, tagConnectionId: Boolean): suspend (Connection) -> Unit =
            { connection -> TetherMetrics(connection, registry, allTags(connection, tags, tagConnectionId)).run() }

        private fun allTags(connection: Connection, tags: Iterable<Tag>, tagConnectionId: Boolean): Tags =
            Tags.of(tags).let { if (tagConnectionId) it.and("connection", connection.id) else it }

        /** Standard close codes as themselves; application codes by range, so that tags stay bounded. */
        private fun codeTag(code: Int): String = when (code) {
            in 1000..1015 -> code.toString()
            in 3000..3999 -> "3xxx"
            in 4000..4999 -> "4xxx"
            else -> "other"
        }
    }
}
