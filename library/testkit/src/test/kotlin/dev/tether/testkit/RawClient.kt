package dev.tether.testkit

import java.io.InputStream
import java.net.Socket
import java.util.Base64
import kotlin.random.Random

/** A minimal blocking WebSocket client over a plain socket, to test the test kit without any library under test. */
class RawClient(port: Int, path: String = "/", headers: Map<String, String> = emptyMap(), protocols: List<String> = emptyList()) :
    AutoCloseable {
    val socket = Socket("127.0.0.1", port).apply { soTimeout = 5000; tcpNoDelay = true }
    private val input: InputStream = socket.getInputStream()
    val status: Int
    val responseHead: String

    init {
        val key = Base64.getEncoder().encodeToString(Random.nextBytes(16))
        val req = StringBuilder("GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
        req.append("Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n")
        headers.forEach { (k, v) -> req.append("$k: $v\r\n") }
        if (protocols.isNotEmpty()) req.append("Sec-WebSocket-Protocol: ${protocols.joinToString(", ")}\r\n")
        req.append("\r\n")
        socket.getOutputStream().write(req.toString().toByteArray())
        val head = StringBuilder()
        while (!head.endsWith("\r\n\r\n")) {
            val b = input.read()
            if (b < 0) break
            head.append(b.toChar())
        }
        responseHead = head.toString()
        status = responseHead.substringAfter(' ').take(3).toIntOrNull() ?: -1
    }

    fun send(opcode: Int, payload: ByteArray) {
        val mask = Random.nextBytes(4)
        val masked = ByteArray(payload.size) { (payload[it].toInt() xor mask[it % 4].toInt()).toByte() }
        val out = java.io.ByteArrayOutputStream()
        out.write(0x80 or opcode)
        require(payload.size < 126)
        out.write(0x80 or payload.size)
        out.write(mask)
        out.write(masked)
        socket.getOutputStream().write(out.toByteArray())
    }

    fun sendText(s: String) = send(WireFrame.TEXT, s.toByteArray())

    fun read(): WireFrame = WireFrame.read(input)

    override fun close() = socket.close()
}
