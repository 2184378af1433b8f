package dev.tether.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The test kit from Java: start, script and stop the server and the proxy without Kotlin-only types. */
class JavaTestKitTest {
    private static final Duration FIVE = Duration.ofSeconds(5);

    private static int upgrade(Socket socket, int port, String path) throws Exception {
        OutputStream out = socket.getOutputStream();
        out.write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                + "Sec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        InputStream in = socket.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) break;
            head.append((char) b);
        }
        return Integer.parseInt(head.substring(9, 12));
    }

    @Test
    void scriptedServerRefusesAcceptsAndSends() throws Exception {
        try (TestWebSocketServer server = new TestWebSocketServer(
                request -> request.getPath().equals("/denied")
                        ? HandshakeResponse.refuse(401, Map.of("WWW-Authenticate", "Bearer"), "no")
                        : HandshakeResponse.accept(),
                connection -> connection.sendText("welcome"))) {
            server.start();
            try (Socket s = new Socket("127.0.0.1", server.getPort())) {
                assertEquals(401, upgrade(s, server.getPort(), "/denied"));
            }
            try (Socket s = new Socket("127.0.0.1", server.getPort())) {
                assertEquals(101, upgrade(s, server.getPort(), "/ok"));
                byte[] frame = s.getInputStream().readNBytes(9);
                assertEquals("welcome", new String(frame, 2, 7, StandardCharsets.UTF_8));
                ServerConnection connection = server.awaitConnection(FIVE);
                assertEquals("/ok", connection.getHandshake().getPath());
                connection.close(1001, "bye", false, FIVE);
                assertTrue(connection.awaitClosed(FIVE));
            }
            server.stop();
            server.start();
            assertTrue(server.isRunning());
        }
    }

    @Test
    void proxyBlackholesAndHeals() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.echo();
             FaultProxy proxy = new FaultProxy("127.0.0.1", server.getPort()).start();
             Socket s = new Socket("127.0.0.1", proxy.getPort())) {
            assertEquals(101, upgrade(s, proxy.getPort(), "/"));
            proxy.blackhole();
            byte[] ping = {(byte) 0x89, (byte) 0x80, 1, 2, 3, 4}; // masked, empty ping
            s.getOutputStream().write(ping);
            s.setSoTimeout(300);
            assertThrows(SocketTimeoutException.class, () -> s.getInputStream().read());
            proxy.heal();
            s.setSoTimeout(5000);
            assertEquals(0x8A, s.getInputStream().read()); // the pong, once healed
            proxy.latency(Duration.ofMillis(10));
            proxy.bandwidth(1_000_000);
            proxy.cutAll();
            assertEquals(0, proxy.getOpenConnections());
        }
    }

    @Test
    void recorderFromJava() {
        Recorder<String> recorder = new Recorder<>();
        recorder.record("x");
        assertEquals("x", recorder.awaitItem(FIVE));
        recorder.assertExhausted();
        assertThrows(AssertionError.class, () -> recorder.awaitItem(Duration.ofMillis(20), s -> true));
    }
}
