package dev.tether.testkit

import dev.tether.testkit.internal.DaemonThreads
import dev.tether.testkit.internal.ServerDeflate
import java.io.BufferedInputStream
import java.io.IOException
import java.net.ServerSocket
import java.net.Socket
import java.security.MessageDigest
import java.time.Duration
import java.util.Base64
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger

/**
 * A scriptable WebSocket server on loopback for tests, in the spirit of OkHttp's MockWebServer.
 *
 * ```kotlin
 * TestWebSocketServer.echo().use { server ->
 *     val client = webSocketClient(server.url("/chat")) { }
 *     …
 * }
 * ```
 * It binds 127.0.0.1, port 0 by default, and can [stop] and [start] again on the same port, so a client
 * reconnects to the same URL. Every accepted connection is recorded ([awaitConnection], [connections]); each runs
 * [script] on a thread of its own (the default script echoes). [handshakeHandler] decides whether to accept.
 *
 * Thread-safe. Uses plain blocking sockets and daemon threads, all ended by [close].
 */
public class TestWebSocketServer @JvmOverloads constructor(
    /** Decides each upgrade: accept (with a subprotocol) or refuse with a status, headers and body. */
    @Volatile public var handshakeHandler: HandshakeHandler = HandshakeHandler { HandshakeResponse.accept() },
    /** What each accepted connection does; the default echoes text and binary frames. */
    @Volatile public var script: ConnectionScript = ConnectionScript { it.echo() },
) : AutoCloseable {
    /**
     * Runs for each accepted connection before the `101` is sent and before any frame is read: set per-connection
     * behaviour here (`answerPings = false`, `answerClose = false`) so that no frame can slip by first.
     */
    @Volatile
    public var onAccept: ConnectionScript = ConnectionScript { }

    @Volatile
    private var listener: ServerSocket? = null

    @Volatile
    private var acceptThread: Thread? = null
    private var boundPort = 0
    private val ids = AtomicInteger()
    private val accepted = LinkedBlockingQueue<ServerConnection>()
    private val live = CopyOnWriteArrayList<ServerConnection>()
    private val all = CopyOnWriteArrayList<ServerConnection>()
    private val handshakes = CopyOnWriteArrayList<HandshakeRequest>()
    private val threads = DaemonThreads()

    /**
     * Serve `wss://` with this certificate (set before [start]); null (the default) serves plain `ws://`. A TLS
     * connection to a plain server gets `400 Bad Request`, as from a real HTTP server.
     */
    @Volatile
    public var tls: TestCertificate? = null

    /**
     * permessage-deflate as this server agrees to it when a client offers it; null (the default) agrees to no
     * extension, like a server without compression. Read at each upgrade.
     */
    @Volatile
    public var compression: ServerCompression? = null

    /** With [tls]: require a client certificate, trusting exactly this one. Null (the default) asks for none. */
    @Volatile
    public var requireClientCertificate: TestCertificate? = null

    /** The port, fixed after the first [start]. */
    public val port: Int get() = boundPort

    /** True while listening. */
    public val isRunning: Boolean get() = listener?.isClosed == false

    /** Every connection accepted so far, in order. */
    public val connections: List<ServerConnection> get() = all.toList()

    /** Every upgrade request seen so far, accepted or refused, in order. */
    public val handshakeRequests: List<HandshakeRequest> get() = handshakes.toList()

    /** `ws://127.0.0.1:port` + [path] (`wss://` when [tls] is set). */
    @JvmOverloads
    public fun url(path: String = "/"): String = url(path, "127.0.0.1")

    /** The URL of [path] with [host] as the host name (e.g. `localhost`, to test name checks of TLS). */
    public fun url(path: String, host: String): String = "${if (tls != null) "wss" else "ws"}://$host:$port$path"

    /** Starts listening: on port 0 the first time, on the same port after a [stop]. Returns this server. */
    public fun start(): TestWebSocketServer {
        check(!isRunning) { "the server is already running" }
        val socket = bindLoopback(boundPort)
        boundPort = socket.localPort
        listener = socket
        acceptThread = threads.start("testkit-server-$boundPort-accept") { acceptLoop(socket) }
        return this
    }

    /** Stops listening and drops every open connection (no close frame), like a crashed server. */
    public fun stop() {
        closeListener()
        live.forEach { it.drop() }
        live.clear()
    }

    /** Stops, closing every open connection with [code] first (e.g. 1001 for a server going away). */
    public fun stopGracefully(code: Int, reason: String) {
        closeListener()
        live.forEach { runCatching { it.close(code, reason, awaitReply = true, timeout = Duration.ofSeconds(2)) } }
        live.clear()
    }

    /** Closes the listening socket and waits until the port is free (the JDK defers the close past a blocked accept). */
    private fun closeListener() {
        listener?.close()
        listener = null
        acceptThread?.join(5000)
        acceptThread = null
    }

    /** Stops and ends every thread of the server. Idempotent. */
    override fun close() {
        stop()
        threads.stopAll()
    }

    /**
     * The next connection accepted (in accept order, each returned once), waiting up to [timeout].
     * @throws AssertionError if none arrives in time.
     */
    public fun awaitConnection(timeout: Duration): ServerConnection =
        accepted.poll(timeout.toMillis(), TimeUnit.MILLISECONDS)
            ?: throw AssertionError("no WebSocket connection within $timeout")

    /** Like [awaitConnection] but null on time-out. */
    public fun pollConnection(timeout: Duration): ServerConnection? = accepted.poll(timeout.toMillis(), TimeUnit.MILLISECONDS)

    private fun acceptLoop(socket: ServerSocket) {
        while (!socket.isClosed) {
            val client = try {
                socket.accept()
            } catch (e: IOException) {
                return
            }
            threads.start("testkit-server-$boundPort-handshake") { handle(client) }
        }
    }

    private fun handle(tcp: Socket) {
        var client = tcp
        try {
            tcp.tcpNoDelay = true
            tls?.let { cert -> client = cert.wrapServerSide(tcp, requireClientCertificate) }
            val input = BufferedInputStream(client.getInputStream())
            if (tls == null && looksLikeTls(input)) {
                client.getOutputStream().write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".toByteArray())
                client.close()
                return
            }
            val request = readRequest(input) ?: return client.close()
            (client as? javax.net.ssl.SSLSocket)?.let { tlsSocket ->
                val names = (tlsSocket.session as? javax.net.ssl.ExtendedSSLSession)?.requestedServerNames.orEmpty()
                request.first.tlsServerName = names.filterIsInstance<javax.net.ssl.SNIHostName>().firstOrNull()?.asciiName
            }
            handshakes.add(request.first)
            val response = try {
                handshakeHandler.answer(request.first)
            } catch (e: Throwable) {
                HandshakeResponse.refuse(500, body = "handshake handler threw: $e")
            }
            val out = client.getOutputStream()
            if (response.status != 101) {
                val body = response.body.toByteArray(Charsets.UTF_8)
                val head = StringBuilder("HTTP/1.1 ${response.status} Refused\r\n")
                response.headers.forEach { (k, v) -> head.append("$k: $v\r\n") }
                head.append("Content-Length: ${body.size}\r\nConnection: close\r\n\r\n")
                out.write(head.toString().toByteArray(Charsets.ISO_8859_1) + body)
                out.flush()
                client.close()
                return
            }
            val accept = Base64.getEncoder().encodeToString(
                MessageDigest.getInstance("SHA-1").digest((request.second + GUID).toByteArray(Charsets.ISO_8859_1)),
            )
            val agreed = compression?.takeIf { !response.overridesHeader("Sec-WebSocket-Extensions") }
                ?.answer(request.first.headers["sec-websocket-extensions"].orEmpty())
            val answer = if (agreed == null) response else response.withHeader("Sec-WebSocket-Extensions", agreed.header)
            val deflate = agreed?.let { ServerDeflate(it.serverNoContextTakeover, it.serverWindowBits) }
            val conn = ServerConnection(client, input, request.first, ids.incrementAndGet(), deflate)
            onAccept.run(conn)
            // Recorded before the client can see the 101, and under the write lock so no frame precedes it.
            conn.open(answer.acceptBytes(accept)) {
                live.add(conn)
                all.add(conn)
                accepted.add(conn)
            }
            threads.adopt(conn.readerThread)
            conn.readerThread.start()
            try {
                script.run(conn)
            } catch (e: InterruptedException) {
                conn.drop()
            } catch (e: IOException) {
                conn.shutdown()
            } catch (e: Exception) { // the script's own failure: the client under test sees it as a 1011 close
                runCatching { conn.close(INTERNAL_ERROR, scriptFailure(e), awaitReply = false) }
            }
        } catch (e: IOException) {
            runCatching { client.close() }
        }
    }

    /** True if the client opened with a TLS record (handshake content type 22, version 3.x). */
    private fun looksLikeTls(input: BufferedInputStream): Boolean {
        input.mark(2)
        val first = input.read()
        val second = input.read()
        input.reset()
        return first == 0x16 && second == 0x03
    }

    private fun readRequest(input: BufferedInputStream): Pair<HandshakeRequest, String>? {
        val lines = ArrayList<String>()
        val line = StringBuilder()
        while (true) {
            val b = input.read()
            if (b < 0) return null
            if (b == '\n'.code) {
                val l = line.toString().trimEnd('\r')
                line.setLength(0)
                if (l.isEmpty()) break
                lines.add(l)
                if (lines.size > 200) return null
            } else {
                line.append(b.toChar())
            }
        }
        val target = lines.firstOrNull()?.split(' ')?.getOrNull(1) ?: return null
        val headers = LinkedHashMap<String, MutableList<String>>()
        lines.drop(1).forEach { l ->
            val i = l.indexOf(':')
            if (i > 0) headers.getOrPut(l.substring(0, i).trim().lowercase()) { ArrayList() }.add(l.substring(i + 1).trim())
        }
        val key = headers["sec-websocket-key"]?.firstOrNull() ?: return null
        val protocols = headers["sec-websocket-protocol"].orEmpty().flatMap { it.split(',') }.map { it.trim() }.filter { it.isNotEmpty() }
        val q = target.indexOf('?')
        val request = HandshakeRequest(
            path = if (q < 0) target else target.substring(0, q),
            query = if (q < 0) "" else target.substring(q + 1),
            headers = headers,
            subprotocols = protocols,
        )
        return request to key
    }

    public companion object {
        private const val GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

        /** The close code for a script that threw (RFC 6455: the server met an unexpected condition). */
        private const val INTERNAL_ERROR = 1011

        /** "script threw: …", cut to what a close reason may hold (123 bytes of UTF-8). */
        private fun scriptFailure(e: Exception): String {
            val text = "script threw: $e"
            var end = minOf(text.length, 123)
            while (text.substring(0, end).toByteArray(Charsets.UTF_8).size > 123) end--
            return text.substring(0, end)
        }

        /** A started echo server. */
        @JvmStatic
        public fun echo(): TestWebSocketServer = TestWebSocketServer().start()

        /** A started server running [script] on every connection. */
        @JvmStatic
        public fun withScript(script: ConnectionScript): TestWebSocketServer = TestWebSocketServer(script = script).start()
    }
}
