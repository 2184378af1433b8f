package dev.tether.internal

/**
 * Incremental UTF-8 validation (Bjoern Hoehrmann's DFA), so that invalid text fails on the fragment that carries
 * the first bad byte, not after the whole message has arrived. Not thread-safe; one per reader.
 */
internal class Utf8Validator {
    private var state = ACCEPT

    /** Feeds [bytes]; false as soon as they cannot be the prefix of valid UTF-8. */
    fun feed(bytes: ByteArray, from: Int = 0, to: Int = bytes.size): Boolean {
        var s = state
        var i = from
        while (i < to) {
            if (s == ACCEPT) {
                while (i < to && bytes[i] >= 0) i++ // ASCII between characters: no table lookups
                if (i == to) break
            }
            s = TRANSITIONS[s + TYPES[bytes[i].toInt() and 0xFF]].toInt()
            if (s == REJECT) {
                state = REJECT
                return false
            }
            i++
        }
        state = s
        return true
    }

    /** True if everything fed so far is complete, valid UTF-8. */
    val isComplete: Boolean get() = state == ACCEPT

    fun reset() {
        state = ACCEPT
    }

    companion object {
        private const val ACCEPT = 0
        private const val REJECT = 12

        /** True if [bytes] are complete, valid UTF-8. */
        fun isValid(bytes: ByteArray): Boolean = Utf8Validator().let { it.feed(bytes) && it.isComplete }

        private val TYPES: ByteArray = intArrayOf(
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
            7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
            8, 8, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
            10, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 3, 3, 11, 6, 6, 6, 5, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
        ).let { a -> ByteArray(a.size) { a[it].toByte() } }

        private val TRANSITIONS: ByteArray = intArrayOf(
            0, 12, 24, 36, 60, 96, 84, 12, 12, 12, 48, 72, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
            12, 0, 12, 12, 12, 12, 12, 0, 12, 0, 12, 12, 12, 24, 12, 12, 12, 12, 12, 24, 12, 24, 12, 12,
            12, 12, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12, 12, 24, 12, 12, 12, 12, 12, 12, 12, 24, 12, 12,
            12, 12, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12, 12, 36, 12, 12, 12, 12, 12, 36, 12, 36, 12, 12,
            12, 36, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
        ).let { a -> ByteArray(a.size) { a[it].toByte() } }
    }
}
