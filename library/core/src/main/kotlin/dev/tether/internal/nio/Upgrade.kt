package dev.tether.internal.nio

import dev.tether.CompressionConfig
import dev.tether.ConnectRequest
import dev.tether.TetherException
import dev.tether.internal.deflate.DeflateNegotiation
import dev.tether.internal.deflate.DeflateParams
import java.net.URI
import java.net.URLDecoder
import java.security.MessageDigest
import java.security.SecureRandom
import java.util.Base64

/**
 * The HTTP/1.1 upgrade (RFC 6455 §4.1): the request Tether writes, and the strict check of the server's answer.
 * [key] is fresh for every attempt.
 */
internal class Upgrade(
    private val request: ConnectRequest,
    private val uri: URI,
    private val userAgent: String?,
    private val compression: CompressionConfig? = null,
) {
    val key: String = ByteArray(16).also { RANDOM.nextBytes(it) }.let { Base64.getEncoder().encodeToString(it) }

    /** The request head, in ISO-8859-1 (header values were checked for CR/LF when configured). */
    fun requestBytes(): ByteArray {
        val path = (uri.rawPath?.takeIf { it.isNotEmpty() } ?: "/") + (uri.rawQuery?.let { "?$it" } ?: "")
        val secure = uri.scheme.equals("wss", ignoreCase = true)
        val port = uri.port
        val host = uri.host
        val hostHeader = if (port == -1 || port == (if (secure) 443 else 80)) host else "$host:$port"
        val user = request.headers.keys.map { it.lowercase() }.toSet()
        val sb = StringBuilder(256)
        sb.append("GET ").append(path).append(" HTTP/1.1\r\n")
        if ("host" !in user) sb.append("Host: ").append(hostHeader).append("\r\n")
        sb.append("Upgrade: websocket\r\nConnection: Upgrade\r\n")
        sb.append("Sec-WebSocket-Key: ").append(key).append("\r\nSec-WebSocket-Version: 13\r\n")
        if (request.subprotocols.isNotEmpty()) {
            sb.append("Sec-WebSocket-Protocol: ").append(request.subprotocols.joinToString(", ")).append("\r\n")
        }
        if (compression != null && compression.enabled) {
            sb.append("Sec-WebSocket-Extensions: ").append(DeflateNegotiation.offer(compression)).append("\r\n")
        }
        if (userAgent != null && "user-agent" !in user) sb.append("User-Agent: ").append(userAgent).append("\r\n")
        val userInfo = uri.rawUserInfo
        if (userInfo != null && "authorization" !in user) {
            val decoded = URLDecoder.decode(userInfo, "UTF-8")
            sb.append("Authorization: Basic ")
                .append(Base64.getEncoder().encodeToString(decoded.toByteArray(Charsets.UTF_8))).append("\r\n")
        }
        request.headers.forEach { (k, v) -> sb.append(k).append(": ").append(v).append("\r\n") }
        sb.append("\r\n")
        return sb.toString().toByteArray(Charsets.UTF_8)
    }

    /** What a valid `101` agreed to: the subprotocol and permessage-deflate, each or both null. */
    class Accepted(val subprotocol: String?, val deflate: DeflateParams?)

    /**
     * Checks a `101` answer: `Upgrade` and `Connection` tokens, `Sec-WebSocket-Accept`, and a subprotocol and
     * extensions only as offered. Throws [TetherException.HandshakeFailed].
     */
    fun validate(response: HttpHead, url: String): Accepted {
        fun fail(detail: String): Nothing =
            throw TetherException.HandshakeFailed(url, response.status, response.headers, "", null, detail)

        val upgrade = response.values("upgrade")
        if (upgrade.none { v -> v.split(',').any { it.trim().equals("websocket", ignoreCase = true) } }) {
            fail("the 101 response has no \"Upgrade: websocket\" header")
        }
        val connection = response.values("connection")
        if (connection.none { v -> v.split(',').any { it.trim().equals("upgrade", ignoreCase = true) } }) {
            fail("the 101 response has no \"Connection: Upgrade\" header")
        }
        val accept = response.values("sec-websocket-accept")
        val expected = expectedAccept(key)
        when {
            accept.isEmpty() -> fail("the 101 response has no Sec-WebSocket-Accept header")
            accept.size > 1 || accept[0].trim() != expected -> fail("the server's Sec-WebSocket-Accept does not match the key sent")
        }
        val deflate = try {
            DeflateNegotiation.accept(compression, response.values("sec-websocket-extensions"))
        } catch (e: IllegalArgumentException) {
            fail(e.message ?: "an invalid Sec-WebSocket-Extensions answer")
        }
        val protocols = response.values("sec-websocket-protocol").flatMap { it.split(',') }.map { it.trim() }.filter { it.isNotEmpty() }
        if (protocols.size > 1) fail("the server selected several subprotocols: $protocols")
        val selected = protocols.firstOrNull()
        if (selected != null && selected !in request.subprotocols) fail("server selected subprotocol \"$selected\", which was not offered")
        return Accepted(selected, deflate)
    }

    companion object {
        private const val GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        private val RANDOM = SecureRandom()

        fun expectedAccept(key: String): String = Base64.getEncoder().encodeToString(
            MessageDigest.getInstance("SHA-1").digest((key + GUID).toByteArray(Charsets.ISO_8859_1)),
        )
    }
}
