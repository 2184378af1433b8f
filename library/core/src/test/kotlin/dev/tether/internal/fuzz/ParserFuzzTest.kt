package dev.tether.internal.fuzz

import com.code_intelligence.jazzer.api.FuzzedDataProvider
import com.code_intelligence.jazzer.junit.FuzzTest
import dev.tether.CompressionConfig
import dev.tether.ConnectRequest
import dev.tether.TetherException
import dev.tether.internal.RawFrame
import dev.tether.internal.Utf8Validator
import dev.tether.internal.deflate.DeflateNegotiation
import dev.tether.internal.deflate.DeflateParams
import dev.tether.internal.deflate.MessageInflater
import dev.tether.internal.nio.FrameParser
import dev.tether.internal.nio.HttpHeadReader
import dev.tether.internal.nio.ProxyTunnel
import dev.tether.internal.nio.Upgrade
import dev.tether.webSocketClient
import java.net.URI
import java.nio.ByteBuffer
import java.nio.charset.CharacterCodingException
import java.nio.charset.CodingErrorAction

/**
 * Coverage-guided fuzz targets (Jazzer) for everything that reads bytes from a peer (the proxy's answers over a real
 * loopback socket). In `mvn verify` each replays
 * its seeds and every finding kept under `src/test/resources/dev/tether/internal/fuzz/ParserFuzzTestInputs/<target>`
 * (regression mode); `JAZZER_FUZZ=1 mvn -pl library/core test -Dtest=ParserFuzzTest#<target>` fuzzes one for real
 * (see docs/testing.md). Each target asserts: only the documented exceptions, nothing delivered past the configured
 * limits, and (for UTF-8) the same verdict as the JDK's strict decoder.
 */
class ParserFuzzTest {

    /** Frames as a server sends them, in chunks the fuzzer chooses, without an extension. */
    @FuzzTest(maxDuration = "30s")
    fun frameParser(data: FuzzedDataProvider) = parseFrames(data, deflate = null)

    /** The same with permessage-deflate agreed (RSV1, inflation, inflated size against the message limit). */
    @FuzzTest(maxDuration = "30s")
    fun frameParserDeflate(data: FuzzedDataProvider) {
        val takeover = data.consumeBoolean()
        parseFrames(data, DeflateParams(serverNoContextTakeover = !takeover, clientNoContextTakeover = false, clientWindowBits = 15))
    }

    private fun parseFrames(data: FuzzedDataProvider, deflate: DeflateParams?) {
        val maxFrame = 1024L
        val maxMessage = 4096L
        val maxFragments = 16
        var messageBytes = 0L
        var textMessage: java.io.ByteArrayOutputStream? = null
        val parser = FrameParser(maxFrame, maxMessage, maxFragments) { f: RawFrame ->
            when {
                f.opcode >= RawFrame.CLOSE -> check(f.data.size <= 125) { "a control frame of ${f.data.size} bytes was delivered" }
                else -> {
                    if (deflate == null) check(f.data.size <= maxFrame) { "a frame of ${f.data.size} bytes passed maxFrameSize" }
                    messageBytes += f.data.size
                    check(messageBytes <= maxMessage) { "a message of $messageBytes bytes passed maxMessageSize" }
                    if (f.opcode == RawFrame.TEXT) {
                        val t = textMessage ?: java.io.ByteArrayOutputStream().also { textMessage = it }
                        t.write(f.data)
                    }
                    if (f.fin) {
                        textMessage?.let { check(strictUtf8(it.toByteArray())) { "a text message that is not UTF-8 was delivered" } }
                        textMessage = null
                        messageBytes = 0
                    }
                }
            }
        }
        if (deflate != null) parser.inflater = MessageInflater(deflate, maxMessage)
        try {
            while (data.remainingBytes() > 0) {
                val chunk = data.consumeBytes(data.consumeInt(1, 64))
                parser.feed(ByteBuffer.wrap(chunk))
            }
        } catch (e: TetherException.ProtocolViolation) {
            check(e.closeCode in setOf(1002, 1007, 1009)) { "close code ${e.closeCode}" }
        } catch (e: TetherException.FrameTooLarge) {
            check(e.size > e.limit || e.size == -1L) { "FrameTooLarge without passing the limit: $e" }
        } finally {
            parser.inflater?.release()
        }
    }

    /** The upgrade response head, then its checks; only `Malformed` and `HandshakeFailed` may come out. */
    @FuzzTest(maxDuration = "30s")
    fun upgradeResponse(data: FuzzedDataProvider) {
        val compression = if (data.consumeBoolean()) COMPRESSION else null
        val reader = HttpHeadReader()
        val url = "ws://127.0.0.1:9/feed"
        val upgrade = Upgrade(ConnectRequest(url, emptyMap(), listOf("v1", "v2")), URI(url), null, compression)
        try {
            while (data.remainingBytes() > 0) {
                val head = reader.feed(ByteBuffer.wrap(data.consumeBytes(data.consumeInt(1, 128)))) ?: continue
                check(head.headers.size <= 100) { "more than 100 header lines were kept" }
                upgrade.validate(head, url)
                return
            }
        } catch (e: HttpHeadReader.Malformed) {
            // documented: a head that is not HTTP/1.1, too long, or with too many lines
        } catch (e: TetherException.HandshakeFailed) {
            // documented: a head that is not a valid 101 for this request
        }
    }

    /** The server's `Sec-WebSocket-Extensions` answer: agreed parameters or `IllegalArgumentException`, nothing else. */
    @FuzzTest(maxDuration = "30s")
    fun deflateNegotiation(data: FuzzedDataProvider) {
        val values = List(data.consumeInt(1, 3)) { data.consumeString(200) }
        try {
            val agreed = DeflateNegotiation.accept(COMPRESSION, values) ?: return
            check(agreed.clientWindowBits in 8..15) { "window ${agreed.clientWindowBits}" }
        } catch (e: IllegalArgumentException) {
            // documented: an answer that was not offered or cannot be honoured
        }
    }

    /** Inflating a message: at most the limit, and only `FrameTooLarge` or `ProtocolViolation(1007)` on bad input. */
    @FuzzTest(maxDuration = "30s")
    fun messageInflater(data: FuzzedDataProvider) {
        val limit = data.consumeLong(1, 65_536)
        val text = data.consumeBoolean()
        val inflater = MessageInflater(DeflateParams(serverNoContextTakeover = false, clientNoContextTakeover = false, clientWindowBits = 15), limit)
        val utf8 = if (text) Utf8Validator() else null
        try {
            var total = 0L
            while (data.remainingBytes() > 0) {
                val frame = data.consumeBytes(data.consumeInt(0, 512))
                val last = data.remainingBytes() == 0
                val out = inflater.inflate(frame, last, total, utf8)
                total += out.size
                check(total <= limit) { "inflated $total bytes past the limit of $limit" }
            }
        } catch (e: TetherException.FrameTooLarge) {
            check(e.limit == limit)
        } catch (e: TetherException.ProtocolViolation) {
            check(e.closeCode == 1007) { "close code ${e.closeCode}" }
        } finally {
            inflater.release()
        }
    }

    /**
     * A proxy's answer to `CONNECT` or to the SOCKS5 handshake, from a real loopback socket that writes the fuzzed
     * bytes and closes: a tunnel, or `ConnectFailed` (never another exception, never a hang).
     */
    @FuzzTest(maxDuration = "30s")
    fun proxyAnswer(data: FuzzedDataProvider) {
        val socks = data.consumeBoolean()
        val withCredentials = data.consumeBoolean()
        val answer = data.consumeRemainingAsBytes()
        java.nio.channels.ServerSocketChannel.open().use { server ->
            server.bind(java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0))
            val port = (server.localAddress as java.net.InetSocketAddress).port
            val peer = Thread {
                server.accept().use { c ->
                    runCatching { c.write(ByteBuffer.wrap(answer)) } // the client may stop reading early
                    runCatching { c.shutdownOutput() }
                    runCatching { while (c.read(ByteBuffer.allocate(512)) >= 0) { /* until the client is done */ } }
                }
            }.apply { isDaemon = true; start() }
            val (user, password) = if (withCredentials) "u" to "p" else null to null
            val proxy = if (socks) {
                dev.tether.ProxyConfig.socks5("127.0.0.1", port, user, password)
            } else {
                dev.tether.ProxyConfig.http("127.0.0.1", port, user, password)
            }
            // Jazzer's SSRF detector reports every connection when fuzzing (and the run then stalls): this one goes to
            // our own loopback peer, by design
            val allowed = com.code_intelligence.jazzer.api.BugDetectors.allowNetworkConnections { host, p ->
                p == port && (host == "127.0.0.1" || host == "localhost")
            }
            try {
                kotlinx.coroutines.runBlocking {
                    // a hang is a finding: it fails with the timeout's exception, which is not ConnectFailed
                    kotlinx.coroutines.withTimeout(10_000) { ProxyTunnel.open(proxy, "example.test", 443, "wss://example.test/") }
                }.close()
            } catch (e: TetherException.ConnectFailed) {
                // documented: the proxy refused, or answered something that is not a tunnel
            } finally {
                allowed.close()
            }
            peer.join(10_000)
            check(!peer.isAlive) { "the tunnel did not finish with the proxy's answer" }
        }
    }

    /** Tether's incremental UTF-8 validator against the JDK's strict decoder, fed in arbitrary pieces. */
    @FuzzTest(maxDuration = "30s")
    fun utf8Validator(data: FuzzedDataProvider) {
        val cut = data.consumeInt(0, 64)
        val bytes = data.consumeRemainingAsBytes()
        val v = Utf8Validator()
        val at = minOf(cut, bytes.size)
        val ours = v.feed(bytes, 0, at) && v.feed(bytes, at, bytes.size) && v.isComplete
        check(ours == strictUtf8(bytes)) { "validator says $ours for ${bytes.joinToString(" ") { "%02x".format(it) }}" }
    }

    private companion object {
        val COMPRESSION: CompressionConfig = webSocketClient("ws://127.0.0.1:9/") {
            compression { serverMaxWindowBits = 12 }
        }.config.compression

        fun strictUtf8(bytes: ByteArray): Boolean = try {
            Charsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes))
            true
        } catch (e: CharacterCodingException) {
            false
        }
    }
}
