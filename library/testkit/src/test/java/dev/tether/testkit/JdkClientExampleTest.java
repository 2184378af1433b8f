package dev.tether.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * The Java examples of docs/testing.md: the test kit works with any client; here the JDK's own WebSocket client
 * stands for "your client".
 */
class JdkClientExampleTest {
    private static final Duration FIVE = Duration.ofSeconds(5);
    private final HttpClient http = HttpClient.newHttpClient();

    /** Records pongs and closes seen by the JDK client. */
    static final class Listener implements WebSocket.Listener {
        final Recorder<String> events = new Recorder<>();

        @Override
        public CompletionStage<?> onPong(WebSocket ws, ByteBuffer message) {
            events.record("pong");
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            events.record("close " + statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            events.record("error " + error.getClass().getSimpleName());
        }
    }

    private WebSocket connect(String url, Listener listener) throws Exception {
        return http.newWebSocketBuilder().buildAsync(URI.create(url), listener).get(5, TimeUnit.SECONDS);
    }

    @Test
    void handshakeRefusal() {
        try (TestWebSocketServer server = new TestWebSocketServer(
                request -> HandshakeResponse.refuse(503, Map.of("Retry-After", "30"), "maintenance"),
                connection -> { })) {
            server.start();
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> connect(server.url("/feed"), new Listener()));
            WebSocketHandshakeException refused = (WebSocketHandshakeException) e.getCause();
            assertEquals(503, refused.getResponse().statusCode());
            assertEquals("/feed", server.getHandshakeRequests().get(0).getPath());
        }
    }

    @Test
    void reconnectAfterServerRestart() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.echo()) {
            Listener listener = new Listener();
            connect(server.url("/feed"), listener);
            ServerConnection first = server.awaitConnection(FIVE);

            server.stop();                                   // the client's connection drops, the port closes
            assertTrue(first.awaitClosed(FIVE));
            server.start();                                  // same port: the same URL works again

            connect(server.url("/feed"), new Listener());    // what your client's reconnect logic would do
            ServerConnection second = server.awaitConnection(FIVE);
            assertEquals("/feed", second.getHandshake().getPath());
            assertEquals(2, server.getConnections().size());
        }
    }

    @Test
    void deadLinkThroughTheBlackhole() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.echo();
             FaultProxy proxy = new FaultProxy("127.0.0.1", server.getPort()).start()) {
            Listener listener = new Listener();
            WebSocket ws = connect(proxy.url("/feed"), listener);

            ws.sendPing(ByteBuffer.wrap(new byte[] {1})).get(5, TimeUnit.SECONDS);
            assertEquals("pong", listener.events.awaitItem(FIVE));

            proxy.blackhole();                               // open sockets, no byte passes: only keepalive notices
            ws.sendPing(ByteBuffer.wrap(new byte[] {2})).get(5, TimeUnit.SECONDS);
            listener.events.expectNoItem(Duration.ofMillis(500));

            proxy.heal();
            assertEquals("pong", listener.events.awaitItem(FIVE));
            assertFalse(ws.isInputClosed());
        }
    }
}
