package dev.tether.internal.nio

import java.nio.ByteBuffer

/** A parsed HTTP/1.1 response head: status and headers (names in lower case, values in order). */
internal class HttpHead(val status: Int, val headers: Map<String, List<String>>) {
    fun values(name: String): List<String> = headers[name].orEmpty()

    fun contentLength(): Long? = values("content-length").singleOrNull()?.trim()?.toLongOrNull()
}

/**
 * Reads a response head from the bytes the server sends, with limits: a line of at most [maxLine] bytes, at most
 * [maxHeaders] header lines. Bytes after the head stay in the buffer for the frame parser. Loop thread only.
 */
internal class HttpHeadReader(private val maxLine: Int = 8192, private val maxHeaders: Int = 100) {
    private val line = StringBuilder()
    private val lines = ArrayList<String>()
    private var sawCr = false

    /** Thrown for a response that is not HTTP/1.1 or breaks a limit. */
    class Malformed(detail: String) : Exception(detail)

    /** Consumes bytes of [buf] up to the end of the head; returns the head once complete, else null. */
    fun feed(buf: ByteBuffer): HttpHead? {
        while (buf.hasRemaining()) {
            val b = buf.get().toInt() and 0xFF
            if (sawCr) {
                if (b != '\n'.code) throw Malformed("a CR not followed by LF")
                sawCr = false
                val l = line.toString()
                line.setLength(0)
                if (l.isEmpty()) {
                    if (lines.isEmpty()) throw Malformed("an empty status line")
                    return parse()
                }
                if (lines.size > maxHeaders) throw Malformed("more than $maxHeaders header lines")
                lines.add(l)
                continue
            }
            when (b) {
                '\r'.code -> sawCr = true
                '\n'.code -> throw Malformed("a bare LF")
                else -> {
                    if (line.length >= maxLine) throw Malformed("a line longer than $maxLine bytes")
                    line.append(b.toChar())
                }
            }
        }
        return null
    }

    private fun parse(): HttpHead {
        val status = lines[0]
        val parts = status.split(' ', limit = 3)
        if (parts.size < 2 || !parts[0].startsWith("HTTP/1.") || parts[1].length != 3 || !parts[1].all { it.isDigit() }) {
            throw Malformed("not an HTTP/1.1 status line: \"${status.take(60).filter { it.code in 32..126 }}\"")
        }
        val headers = LinkedHashMap<String, MutableList<String>>()
        for (i in 1 until lines.size) {
            val l = lines[i]
            if (l[0] == ' ' || l[0] == '\t') throw Malformed("a folded header line")
            val c = l.indexOf(':')
            if (c <= 0) throw Malformed("a header line without a name")
            val name = l.substring(0, c)
            if (name.any { it.code !in 33..126 || it in "()<>@,;:\\\"/[]?={}" }) throw Malformed("an invalid header name")
            headers.getOrPut(name.lowercase()) { ArrayList(1) }.add(l.substring(c + 1).trim())
        }
        return HttpHead(parts[1].toInt(), headers)
    }
}
