package dev.tether

import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.cancel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.job
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import java.util.concurrent.ConcurrentHashMap

/**
 * Supervises many named connections together, for apps that hold dozens of feeds: [start] them by name, observe
 * all their [states] in one flow, [stop] one, pause or resume all, [closeAll]. Each connection keeps its own
 * supervision (reconnect, backoff, circuit breaker); the group adds naming and a common end.
 *
 * The connections run as children of the group's scope (its own, or a child of the `parent` you pass), on
 * `Dispatchers.Default`. Thread-safe.
 */
public class ConnectionGroup(parent: CoroutineScope? = null) : AutoCloseable {
    private val scope = CoroutineScope(
        SupervisorJob(parent?.coroutineContext?.job) + Dispatchers.Default + CoroutineName("tether-group"),
    )
    private val connections = ConcurrentHashMap<String, Connection>()
    private val watchers = ConcurrentHashMap<String, Job>()
    private val _states = MutableStateFlow<Map<String, ConnectionState>>(emptyMap())

    /**
     * The state of every connection of the group, by name; a closed one stays (as `Closed`) until it is [stop]ped or
     * started again. A snapshot flow: each connection's own `state` has the same conflation.
     */
    public val states: StateFlow<Map<String, ConnectionState>> = _states.asStateFlow()

    /** The names of the connections in the group. */
    public val names: Set<String> get() = connections.keys.toSet()

    /**
     * Starts a connection of [client] named [name] in the group and returns it.
     * @throws IllegalStateException if a connection named [name] is running (stop it first).
     */
    public fun start(name: String, client: WebSocketClient): Connection {
        val existing = connections[name]
        check(existing == null || existing.state.value is ConnectionState.Closed) { "a connection named \"$name\" is running" }
        val conn = client.connectIn(scope)
        connections[name] = conn
        watchers.put(name, scope.launch(CoroutineName("tether-group-$name")) {
            conn.state.collect { s -> _states.update { it + (name to s) } }
        })?.cancel()
        return conn
    }

    /** The connection named [name], or null. */
    public operator fun get(name: String): Connection? = connections[name]

    /** Closes the connection named [name] (with [code]) and removes it; null if there is none. */
    public suspend fun stop(name: String, code: Int = CloseCodes.NORMAL): ConnectionState.Closed? {
        val conn = connections.remove(name) ?: return null
        val closed = conn.close(code)
        watchers.remove(name)?.cancel()
        _states.update { it - name }
        return closed
    }

    /** Pauses every connection of the group (see [Connection.pause]). */
    public fun pauseAll() {
        connections.values.forEach { it.pause() }
    }

    /** Resumes every connection of the group (see [Connection.resume]). */
    public fun resumeAll() {
        connections.values.forEach { it.resume() }
    }

    /** Closes every connection (in parallel, each within its close timeout) and ends the group's work. */
    public suspend fun closeAll() {
        coroutineScope { names.map { async { stop(it) } }.awaitAll() }
        scope.cancel()
    }

    /** [closeAll], blocking. */
    override fun close() {
        runBlocking { closeAll() }
    }

    override fun toString(): String = "ConnectionGroup(${_states.value.mapValues { it.value.javaClass.simpleName }})"
}
