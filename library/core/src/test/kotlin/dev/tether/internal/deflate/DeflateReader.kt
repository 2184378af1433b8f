package dev.tether.internal.deflate

/**
 * A small RFC 1951 decoder for tests, written from the RFC, that also measures what zlib's inflater does not tell:
 * the farthest back-reference, which must fit the agreed window. Reads a permessage-deflate payload (the stripped
 * `00 00 ff ff` tail is put back) and returns the bytes with [maxDistance] set.
 */
internal class DeflateReader(payload: ByteArray) {
    private val data = payload + byteArrayOf(0, 0, -1, -1)
    private var pos = 0
    private var bitBuf = 0L
    private var bitCnt = 0
    private var out = ByteArray(1024)
    private var size = 0

    /** The farthest back-reference seen, in bytes (0: none). */
    var maxDistance = 0
        private set

    fun read(): ByteArray {
        while (pos < data.size) {
            val last = bits(1)
            when (bits(2)) {
                0 -> stored()
                1 -> codes(FIXED_LIT, FIXED_DIST)
                2 -> dynamic()
                else -> error("invalid block type")
            }
            if (last == 1) break
        }
        return out.copyOf(size)
    }

    private fun bits(need: Int): Int {
        var v = bitBuf
        while (bitCnt < need) {
            check(pos < data.size) { "out of input" }
            v = v or ((data[pos++].toLong() and 0xFF) shl bitCnt)
            bitCnt += 8
        }
        bitBuf = v ushr need
        bitCnt -= need
        return (v and ((1L shl need) - 1)).toInt()
    }

    private fun stored() {
        bitBuf = 0
        bitCnt = 0
        val len = (data[pos].toInt() and 0xFF) or ((data[pos + 1].toInt() and 0xFF) shl 8)
        val nlen = (data[pos + 2].toInt() and 0xFF) or ((data[pos + 3].toInt() and 0xFF) shl 8)
        check(len == nlen.inv() and 0xFFFF) { "stored block length check" }
        pos += 4
        for (i in 0 until len) put(data[pos + i])
        pos += len
    }

    private fun put(b: Byte) {
        if (size == out.size) out = out.copyOf(out.size * 2)
        out[size++] = b
    }

    private class Huffman(lengths: IntArray) {
        val count = IntArray(16)
        val symbol = IntArray(lengths.size)

        init {
            lengths.forEach { count[it]++ }
            count[0] = 0
            val offs = IntArray(16)
            for (len in 1 until 15) offs[len + 1] = offs[len] + count[len]
            lengths.forEachIndexed { sym, len -> if (len != 0) symbol[offs[len]++] = sym }
        }
    }

    private fun decode(h: Huffman): Int {
        var code = 0
        var first = 0
        var index = 0
        for (len in 1..15) {
            code = code or bits(1)
            val c = h.count[len]
            if (code - c < first) return h.symbol[index + (code - first)]
            index += c
            first = (first + c) shl 1
            code = code shl 1
        }
        error("invalid Huffman code")
    }

    private fun codes(lit: Huffman, dist: Huffman) {
        while (true) {
            val sym = decode(lit)
            when {
                sym < 256 -> put(sym.toByte())
                sym == 256 -> break
                else -> {
                    val s = sym - 257
                    check(s < 29) { "invalid length symbol" }
                    val len = LBASE[s] + bits(LEXT[s])
                    val ds = decode(dist)
                    check(ds < 30) { "invalid distance symbol" }
                    val d = DBASE[ds] + bits(DEXT[ds])
                    maxDistance = maxOf(maxDistance, d)
                    check(d <= size) { "distance $d reaches before the stream" }
                    repeat(len) { put(out[size - d]) }
                }
            }
        }
    }

    private fun dynamic() {
        val nlen = bits(5) + 257
        val ndist = bits(5) + 1
        val ncode = bits(4) + 4
        val lengths = IntArray(19)
        for (i in 0 until ncode) lengths[ORDER[i]] = bits(3)
        val lencode = Huffman(lengths)
        val all = IntArray(nlen + ndist)
        var i = 0
        while (i < nlen + ndist) {
            val sym = decode(lencode)
            if (sym < 16) {
                all[i++] = sym
            } else {
                var value = 0
                val rep = when (sym) {
                    16 -> { check(i > 0); value = all[i - 1]; 3 + bits(2) }
                    17 -> 3 + bits(3)
                    else -> 11 + bits(7)
                }
                repeat(rep) { all[i++] = value }
            }
        }
        codes(Huffman(all.copyOf(nlen)), Huffman(all.copyOfRange(nlen, nlen + ndist)))
    }

    private companion object {
        val LBASE = intArrayOf(3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258)
        val LEXT = intArrayOf(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0)
        val DBASE = intArrayOf(
            1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
            4097, 6145, 8193, 12289, 16385, 24577,
        )
        val DEXT = intArrayOf(0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13)
        val ORDER = intArrayOf(16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15)
        val FIXED_LIT = Huffman(IntArray(288) { if (it < 144) 8 else if (it < 256) 9 else if (it < 280) 7 else 8 })
        val FIXED_DIST = Huffman(IntArray(30) { 5 })
    }
}
