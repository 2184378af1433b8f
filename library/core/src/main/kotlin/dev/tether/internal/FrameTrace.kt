package dev.tether.internal

import dev.tether.engine.EngineFrame
import org.slf4j.Logger
import org.slf4j.LoggerFactory

/**
 * The DEBUG trace of every frame of one connection (`traceFrames`), on the `dev.tether.Frames` logger: direction,
 * opcode, FIN, size, and for text the first [TEXT_SNIPPET] characters (escaped, truncated); binary payloads only
 * with `traceBinaryPayloads`, as the first [BINARY_SNIPPET] bytes in hex. Also the upgrade's headers: a value shows
 * only for the protocol's own headers and those the user marked safe to log, never for credentials or the user's
 * sensitive headers; every other value is `***`. Costs nothing unless switched on.
 */
internal class FrameTrace(
    private val id: String,
    private val binaryPayloads: Boolean,
    private val sensitive: Set<String>,
    private val safe: Set<String> = emptySet(),
) {
    private val logger: Logger = LoggerFactory.getLogger("dev.tether.Frames")

    fun frame(out: Boolean, f: EngineFrame) {
        if (!logger.isDebugEnabled) return
        val sb = StringBuilder(96).append('[').append(id).append("] ").append(if (out) "-> " else "<- ")
        sb.append(name(f.opcode)).append(if (f.fin) "" else " (more)").append(' ').append(f.data.size).append(" B")
        when (f.opcode) {
            EngineFrame.TEXT -> text(sb, f.data)
            EngineFrame.CLOSE -> if (f.data.size >= 2) {
                sb.append(" code ").append(((f.data[0].toInt() and 0xff) shl 8) or (f.data[1].toInt() and 0xff))
                if (f.data.size > 2) text(sb, f.data.copyOfRange(2, f.data.size))
            }
            CONTINUATION -> Unit // of a text or a binary message: its size only
            else -> if (binaryPayloads) hex(sb, f.data) // binary, ping, pong
        }
        logger.debug(sb.toString())
    }

    /** The upgrade request's headers, credentials and sensitive values hidden. */
    fun request(url: String, headers: Map<String, String>) {
        if (!logger.isDebugEnabled) return
        logger.debug("[{}] upgrade request {} {}", id, Redaction.url(url), headers.entries.joinToString(", ", "{", "}") { (k, v) -> "$k: ${shown(k, v)}" })
    }

    /** The upgrade response's status and headers, cookies and sensitive values hidden. */
    fun response(status: Int, headers: Map<String, List<String>>) {
        if (!logger.isDebugEnabled) return
        logger.debug("[{}] upgrade response {} {}", id, status, headers.entries.joinToString(", ", "{", "}") { (k, v) -> "$k: ${v.joinToString { shown(k, it) }}" })
    }

    private fun shown(name: String, value: String): String {
        val n = name.lowercase()
        val visible = n !in ALWAYS_SECRET && n !in sensitive && (n in PROTOCOL_HEADERS || n in safe)
        return if (visible) value else "***"
    }

    private fun text(sb: StringBuilder, data: ByteArray) {
        val s = String(data, 0, minOf(data.size, TEXT_SNIPPET * 4), Charsets.UTF_8)
        sb.append(" \"")
        for (c in s.take(TEXT_SNIPPET)) {
            when {
                c == '"' -> sb.append("\\\"")
                c == '\n' -> sb.append("\\n")
                c == '\r' -> sb.append("\\r")
                c < ' ' -> sb.append("\\u").append(String.format("%04x", c.code))
                else -> sb.append(c)
            }
        }
        sb.append('"')
        if (s.length > TEXT_SNIPPET || data.size > TEXT_SNIPPET * 4) sb.append("...")
    }

    private fun hex(sb: StringBuilder, data: ByteArray) {
        sb.append(' ')
        for (i in 0 until minOf(data.size, BINARY_SNIPPET)) sb.append(String.format("%02x", data[i].toInt() and 0xff))
        if (data.size > BINARY_SNIPPET) sb.append("...")
    }

    private fun name(opcode: Int): String = when (opcode) {
        CONTINUATION -> "CONT"
        EngineFrame.TEXT -> "TEXT"
        EngineFrame.BINARY -> "BINARY"
        EngineFrame.CLOSE -> "CLOSE"
        EngineFrame.PING -> "PING"
        EngineFrame.PONG -> "PONG"
        else -> "OPCODE $opcode"
    }

    companion object {
        const val CONTINUATION = 0
        const val TEXT_SNIPPET = 64
        const val BINARY_SNIPPET = 16

        /** Header names whose values never appear in a log, whatever the user marks. */
        val ALWAYS_SECRET = setOf("authorization", "proxy-authorization", "cookie", "set-cookie")

        /** The upgrade's own headers: their values carry no secret and show in the trace. */
        val PROTOCOL_HEADERS = setOf(
            "upgrade", "connection", "host", "sec-websocket-version", "sec-websocket-protocol",
            "sec-websocket-extensions", "sec-websocket-accept",
        )
    }
}
