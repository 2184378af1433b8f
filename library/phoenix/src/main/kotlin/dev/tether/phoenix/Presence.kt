package dev.tether.phoenix

import dev.tether.phoenix.internal.KotlinOnly
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.contentOrNull

/**
 * Presence on a channel with phoenix.js semantics: `presence_state` replaces the state (reporting joins and leaves
 * against the previous one), `presence_diff` applies joins and leaves by `phx_ref`; diffs that arrive before the
 * state of the current join wait for it. Each presence is a key with a list of metas (JSON objects).
 *
 * Callbacks run on the socket's serial dispatcher. Thread-safe to read.
 */
public class Presence internal constructor(private val channel: PhoenixChannel, kotlinOnly: KotlinOnly = KotlinOnly()) {
    private var state: Map<String, List<JsonObject>> = emptyMap()
    private var syncedJoinRef: String? = null
    private val pendingDiffs = ArrayList<JsonObject>()
    private val _presences = MutableStateFlow<Map<String, List<JsonObject>>>(emptyMap())
    private var onJoin: (String, List<JsonObject>?, List<JsonObject>) -> Unit = { _, _, _ -> }
    private var onLeave: (String, List<JsonObject>, List<JsonObject>) -> Unit = { _, _, _ -> }
    private var onSync: () -> Unit = {}

    /** Every presence: key → metas. */
    public val presences: StateFlow<Map<String, List<JsonObject>>> = _presences.asStateFlow()

    /** The presences as a list of (key, metas), in key order. */
    public fun list(): List<Pair<String, List<JsonObject>>> = _presences.value.entries.sortedBy { it.key }.map { it.key to it.value }

    /** Called for each key that gained metas: (key, metas before or null, metas that joined). */
    public fun onJoin(callback: (key: String, current: List<JsonObject>?, joined: List<JsonObject>) -> Unit) {
        onJoin = callback
    }

    /** Called for each key that lost metas: (key, metas left afterwards, metas that left). */
    public fun onLeave(callback: (key: String, remaining: List<JsonObject>, left: List<JsonObject>) -> Unit) {
        onLeave = callback
    }

    /** Called after every state or diff is applied. */
    public fun onSync(callback: () -> Unit) {
        onSync = callback
    }

    @JvmSynthetic
    internal fun handle(m: Message) {
        val payload = m.json as? JsonObject ?: return
        when (m.event) {
            Events.PRESENCE_STATE -> {
                syncState(parse(payload))
                syncedJoinRef = channel.joinRef
                pendingDiffs.forEach { syncDiff(it) }
                pendingDiffs.clear()
                publish()
            }
            Events.PRESENCE_DIFF -> {
                if (syncedJoinRef == null || syncedJoinRef != channel.joinRef) {
                    pendingDiffs += payload
                } else {
                    syncDiff(payload)
                    publish()
                }
            }
        }
    }

    private fun publish() {
        _presences.value = state
        channel.socket.guarded("presence.onSync") { onSync() }
    }

    private fun syncState(newState: Map<String, List<JsonObject>>) {
        val joins = LinkedHashMap<String, List<JsonObject>>()
        val leaves = LinkedHashMap<String, List<JsonObject>>()
        state.forEach { (key, metas) -> if (key !in newState) leaves[key] = metas }
        newState.forEach { (key, newMetas) ->
            val current = state[key]
            if (current != null) {
                val newRefs = newMetas.map { ref(it) }
                val curRefs = current.map { ref(it) }
                val joined = newMetas.filter { ref(it) !in curRefs }
                val left = current.filter { ref(it) !in newRefs }
                if (joined.isNotEmpty()) joins[key] = joined
                if (left.isNotEmpty()) leaves[key] = left
            } else {
                joins[key] = newMetas
            }
        }
        apply(joins, leaves)
    }

    private fun syncDiff(diff: JsonObject) {
        apply(parse(diff["joins"] as? JsonObject ?: JsonObject(emptyMap())), parse(diff["leaves"] as? JsonObject ?: JsonObject(emptyMap())))
    }

    private fun apply(joins: Map<String, List<JsonObject>>, leaves: Map<String, List<JsonObject>>) {
        val next = LinkedHashMap(state)
        joins.forEach { (key, joined) ->
            val current = next[key]
            val joinedRefs = joined.map { ref(it) }
            next[key] = (current?.filter { ref(it) !in joinedRefs } ?: emptyList()) + joined
            channel.socket.guarded("presence.onJoin") { onJoin(key, current, joined) }
        }
        leaves.forEach { (key, left) ->
            val current = next[key] ?: return@forEach
            val gone = left.map { ref(it) }
            val remaining = current.filter { ref(it) !in gone }
            channel.socket.guarded("presence.onLeave") { onLeave(key, remaining, left) }
            if (remaining.isEmpty()) next.remove(key) else next[key] = remaining
        }
        state = next
    }

    private fun ref(meta: JsonObject): String? = (meta["phx_ref"] as? JsonPrimitive)?.contentOrNull

    private fun parse(o: JsonObject): Map<String, List<JsonObject>> = o.mapValues { (_, v) ->
        ((v as? JsonObject)?.get("metas") as? JsonArray)?.mapNotNull { it as? JsonObject } ?: emptyList()
    }
}
