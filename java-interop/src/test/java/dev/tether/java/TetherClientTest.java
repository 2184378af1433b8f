package dev.tether.java;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.ConnectRequest;
import dev.tether.Frame;
import dev.tether.OfflinePolicy;
import dev.tether.OverflowPolicy;
import dev.tether.TetherException;
import dev.tether.testkit.ConnectionScript;
import dev.tether.testkit.HandshakeResponse;
import dev.tether.testkit.Recorder;
import dev.tether.testkit.TestCertificate;
import dev.tether.testkit.TestWebSocketServer;
import dev.tether.testkit.WireFrame;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The Java facade of a Tether connection, against the test kit's server over real sockets. */
class TetherClientTest {
    private static final Duration FIVE = Duration.ofSeconds(5);
    private final ExecutorService callbacks = Executors.newSingleThreadExecutor(r -> new Thread(r, "app-callbacks"));

    @AfterEach
    void stop() {
        callbacks.shutdownNow();
    }

    private TetherClient.Builder quick(String url) {
        return TestClients.quick(url, callbacks).logErrors(false);
    }

    private static javax.net.ssl.TrustManager[] defaultTrustManagers() throws Exception {
        javax.net.ssl.TrustManagerFactory f =
                javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        f.init((java.security.KeyStore) null);
        return f.getTrustManagers();
    }

    @Test
    void metricsCountFromTheFirstConnect() throws Exception {
        io.micrometer.core.instrument.simple.SimpleMeterRegistry registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        try (TestWebSocketServer server = TestWebSocketServer.echo()) {
            TetherConnection conn = quick(server.url())
                    .metrics(registry, List.of(io.micrometer.core.instrument.Tag.of("app", "java")), false)
                    .build().connect().get(5, TimeUnit.SECONDS);
            server.stop();
            server.start(); // same port: the client reconnects by itself
            awaitCount(registry, "tether.connects", "success", 2.0);
            conn.sendText("hi").get(5, TimeUnit.SECONDS);
            assertEquals(Optional.of(new Frame.Text("hi")), conn.receive(FIVE));
            awaitCount(registry, "tether.messages", null, 1.0);
            assertEquals("java", registry.find("tether.connects").tag("outcome", "success").counter().getId().getTag("app"));
            conn.close();
        }
    }

    /** Waits (at most 5 s) until the counter [name] (with outcome [outcome] if given, direction in otherwise) reaches [expected]. */
    private static void awaitCount(io.micrometer.core.instrument.MeterRegistry registry, String name, String outcome, double expected)
            throws InterruptedException {
        long deadline = System.nanoTime() + FIVE.toNanos();
        double seen = 0;
        while (System.nanoTime() < deadline) {
            io.micrometer.core.instrument.search.Search search = registry.find(name);
            search = outcome != null ? search.tag("outcome", outcome) : search.tags("direction", "in");
            io.micrometer.core.instrument.Counter c = search.counter();
            seen = c == null ? 0 : c.count();
            if (seen >= expected) break;
            Thread.sleep(10);
        }
        assertEquals(expected, seen, name);
    }

    @Test
    void certificatePinsFromJava() throws Exception {
        TestCertificate root = TestCertificate.authority("Java Pinning Root");
        TestCertificate leaf = root.issue("ip:127.0.0.1");
        String wrong = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        try (TestWebSocketServer server = new TestWebSocketServer()) {
            server.setTls(leaf);
            server.start();
            javax.net.ssl.TrustManager[] trust = {leaf.getTrustManager()};
            try (TetherConnection conn = quick(server.url()).tls(trust, null).certificatePin("127.0.0.1", wrong, root.getPin())
                    .build().connect().get(5, TimeUnit.SECONDS)) { // the backup pin (the root's key) matches
                assertTrue(conn.isOpen());
            }
            ExecutionException refused = assertThrows(ExecutionException.class, () ->
                    quick(server.url()).tls(trust, null).reconnect(false).certificatePin("127.0.0.1", wrong)
                            .build().connect().get(5, TimeUnit.SECONDS));
            TetherException.ConnectFailed failed = assertInstanceOf(TetherException.ConnectFailed.class, refused.getCause());
            assertEquals(TetherException.ConnectFailure.TLS, failed.getKind());
            assertTrue(failed.getMessage().contains("certificate pinning failed for 127.0.0.1"), failed.getMessage());
            assertTrue(failed.getMessage().contains(leaf.getPin()), failed.getMessage());
        }
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> TetherClient.builder("wss://x.example").certificatePin("x.example", "md5/xyz"));
        assertTrue(bad.getMessage().startsWith("certificatePins: 'md5/xyz'"), bad.getMessage());
    }

    @Test
    void everyOptionIsSetFromJavaAndBadOnesAreNamed() throws Exception {
        TetherClient client = TetherClient.builder("ws://127.0.0.1:9/x")
                .header("X-App", "1").headers(Map.of("X-Other", "2")).subprotocols("v2", "v1")
                .connectTimeout(Duration.ofSeconds(3)).pingInterval(Duration.ofSeconds(20)).pongTimeout(Duration.ofSeconds(5))
                .maxMissedPongs(3).livenessFromAnyFrame(true).outboxTimeToLive(Duration.ofMinutes(1))
                .circuitBreaker(10, Duration.ofMinutes(1)).gate(new ConnectionGate())
                .closeTimeout(Duration.ofSeconds(1)).maxFrameSize(2048).maxMessageSize(4096)
                .incomingBuffer(16, OverflowPolicy.DROP_OLDEST).outgoingBuffer(8, OverflowPolicy.FAIL)
                .offlinePolicy(OfflinePolicy.REJECT).backoff(Duration.ofMillis(100), Duration.ofSeconds(5), 2.0).jitter(0.1)
                .reconnectDelays(n -> Duration.ofMillis(10L * n)).maxAttempts(3).stableAfter(Duration.ofSeconds(2))
                .reconnect(true).logErrors(true).logInfo(true).traceFrames(false).traceBinaryPayloads(false)
                .sensitiveHeaders("X-Api-Key").proxy(dev.tether.ProxyConfig.http("127.0.0.1", 3128, "user", "pw"))
                .proxySelector(java.net.ProxySelector.getDefault())
                .tls(javax.net.ssl.SSLContext.getDefault()).tls(defaultTrustManagers(), null)
                .userAgent("java-test/1").maxFragments(100)
                .compression(true).compressionThreshold(512).compressionLevel(3).compressionClientMaxWindowBits(12)
                .compressionServerMaxWindowBits(10).compressionClientNoContextTakeover(true).compressionServerNoContextTakeover(false)
                .listener(new Listener() { }).callbackExecutor(Runnable::run)
                .onError((e, attempt) -> ConnectionDecision.reconnect()).onDisconnect((d, attempt) -> ConnectionDecision.reconnect())
                .connectProvider((attempt, defaults) -> CompletableFuture.completedFuture(defaults))
                .build();
        assertNotNull(client);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TetherClient.builder("ws://127.0.0.1:9").pongTimeout(Duration.ZERO));
        assertTrue(e.getMessage().contains("pongTimeout"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TetherClient.builder("http://nope").build());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TetherClient.builder("ws://127.0.0.1:9/")
                .offlinePolicy(OfflinePolicy.REJECT).idleTimeout(Duration.ofMinutes(10)).build())
                .getMessage().contains("idleTimeout"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TetherClient.builder("ws://127.0.0.1:9/").maxMissedPongs(-1))
                .getMessage().contains("maxMissedPongs"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TetherClient.builder("ws://127.0.0.1:9/").compressionClientMaxWindowBits(7))
                .getMessage().contains("compression.clientMaxWindowBits"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TetherClient.builder("ws://127.0.0.1:9/").compressionThreshold(-1))
                .getMessage().contains("compression.threshold"));
        assertThrows(IllegalArgumentException.class, () -> ConnectionDecision.close(1005, ""));
        assertEquals(ConnectionDecision.stayDown(), ConnectionDecision.stayDown());
        assertEquals("ReconnectAfter(1s)", ConnectionDecision.reconnectAfter(Duration.ofSeconds(1)).toString());
        assertEquals("Ignore", ConnectionDecision.ignore().toString());
    }

    @Test
    void connectSendReceiveAndClose() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.echo()) {
            TetherConnection conn = quick(server.url("/echo")).build().connect().get(5, TimeUnit.SECONDS);
            assertTrue(conn.isOpen());
            assertEquals(ConnectionStatus.Kind.CONNECTED, conn.status().getKind());
            ConnectionStatus up = conn.awaitConnected().get(5, TimeUnit.SECONDS);
            assertEquals(101, up.getStatus());
            assertEquals(List.of("websocket"), up.getHeaders().get("upgrade"));
            assertNull(up.getSubprotocol());
            assertNull(up.getDelay());
            conn.sendText("hello").get(5, TimeUnit.SECONDS);
            conn.sendBinary(new byte[] {1, 2}).get(5, TimeUnit.SECONDS);
            conn.send(new Frame.Text("third")).get(5, TimeUnit.SECONDS);
            assertEquals(new Frame.Text("hello"), conn.receive(FIVE).orElseThrow());
            assertEquals(new Frame.Binary(new byte[] {1, 2}), conn.receive(FIVE).orElseThrow());
            assertEquals(new Frame.Text("third"), conn.receive(FIVE).orElseThrow());
            assertEquals(Optional.empty(), conn.receive(Duration.ofMillis(50)));
            assertThrows(IllegalArgumentException.class, () -> conn.close(999, "bad code"));
            ConnectionStatus closed = conn.close(4000, "bye").get(5, TimeUnit.SECONDS);
            assertEquals(ConnectionStatus.Kind.CLOSED, closed.getKind());
            assertEquals(4000, closed.getCode());
            assertEquals("bye", closed.getReason());
            assertEquals(4000, server.getConnections().get(0).awaitReceived(FIVE, f -> f.getOpcode() == WireFrame.CLOSE).getCloseCode());
            conn.close(); // idempotent
            ExecutionException late = assertThrows(ExecutionException.class, () -> conn.sendText("late").get(5, TimeUnit.SECONDS));
            assertInstanceOf(TetherException.SendFailed.class, late.getCause());
        }
    }

    @Test
    void listenerGetsEveryEventOnTheChosenExecutorAndAThrowIsReported() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.echo()) {
            Recorder<String> events = new Recorder<>();
            List<String> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
            Listener listener = new Listener() {
                @Override public void onOpen(TetherConnection c, ConnectionStatus s) { events.record("open " + s.getStatus()); threads.add(Thread.currentThread().getName()); }
                @Override public void onText(TetherConnection c, String text) {
                    threads.add(Thread.currentThread().getName());
                    if (text.equals("boom")) throw new IllegalStateException("listener bug");
                    events.record("text " + text);
                }
                @Override public void onBinary(TetherConnection c, byte[] bytes) { events.record("binary " + bytes.length); }
                @Override public void onPing(TetherConnection c, byte[] payload) { events.record("ping " + new String(payload, StandardCharsets.UTF_8)); }
                @Override public void onPong(TetherConnection c, byte[] payload, Duration rtt) { if (rtt != null) events.record("pong"); }
                @Override public void onStateChange(TetherConnection c, ConnectionStatus s) {
                    events.record("state " + s.getKind());
                    if (s.getKind() == ConnectionStatus.Kind.CONNECTED) throw new IllegalStateException("state listener bug");
                }
                @Override public void onError(TetherConnection c, TetherException e) {
                    events.record("error " + e.getClass().getSimpleName() + " " + ((TetherException.HandlerFailed) e).getHook());
                }
                @Override public void onDisconnect(TetherConnection c, DisconnectInfo d) { events.record("disconnect " + d.getCode() + " " + d.getByServer() + " " + d.getReason() + " " + (d.getCause() == null) + " " + !d.getUptime().isNegative()); }
                @Override public void onTerminate(TetherConnection c, ConnectionStatus s) { events.record("terminate " + s.getCode()); }
            };
            TetherConnection conn = quick(server.url()).pingInterval(Duration.ofSeconds(1)).pongTimeout(Duration.ofSeconds(5)).listener(listener)
                    .onDisconnect((d, attempt) -> ConnectionDecision.close(1000, "enough")).build().connect().get(5, TimeUnit.SECONDS);
            events.awaitItem(FIVE, s -> s.equals("open 101"));
            conn.sendText("boom").get(5, TimeUnit.SECONDS);
            events.awaitItem(FIVE, s -> s.equals("error HandlerFailed onText"));
            assertTrue(events.getItems().contains("error HandlerFailed onStateChange"), events.getItems().toString());
            conn.sendText("after").get(5, TimeUnit.SECONDS);
            events.awaitItem(FIVE, s -> s.equals("text after"));
            conn.sendBinary(new byte[3]).get(5, TimeUnit.SECONDS);
            events.awaitItem(FIVE, s -> s.equals("binary 3"));
            server.getConnections().get(0).sendPing("hi".getBytes(StandardCharsets.UTF_8));
            events.awaitItem(FIVE, s -> s.equals("ping hi"));
            events.awaitItem(FIVE, s -> s.equals("pong"));
            assertTrue(conn.isOpen(), "a throwing listener never harms the connection");
            server.getConnections().get(0).close(1001, "going", true, FIVE);
            events.awaitItem(FIVE, s -> s.equals("disconnect 1001 true going true true"));
            events.awaitItem(FIVE, s -> s.equals("terminate 1001"));
            // (with coroutines debug mode on, as under tests, the name carries " @tether-hooks#N" while a hook runs)
            assertTrue(threads.stream().allMatch(n -> n.startsWith("app-callbacks")), threads.toString());
            List<String> all = events.getItems();
            assertTrue(all.indexOf("state CLOSED") >= 0 && all.indexOf("state CLOSED") < all.indexOf("terminate 1001"),
                    "onTerminate comes last: " + all);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> conn.receive(Duration.ofMillis(10)));
            assertTrue(e.getMessage().contains("onText"), "messages went to the listener: " + e.getMessage());
        }
    }

    @Test
    void decisionsAndTheAsyncConnectProvider() throws Exception {
        AtomicInteger n = new AtomicInteger();
        try (TestWebSocketServer server = new TestWebSocketServer(
                req -> Integer.parseInt(req.header("authorization").substring("Bearer t".length())) >= 3
                        ? HandshakeResponse.accept() : HandshakeResponse.refuse(401),
                ConnectionScript.class.cast((ConnectionScript) ServerConnectionEcho::echo))) {
            server.start();
            Recorder<Integer> errors = new Recorder<>();
            TetherConnection conn = quick(server.url())
                    .connectProvider((attempt, defaults) -> CompletableFuture.supplyAsync(() -> new ConnectRequest(
                            defaults.getUrl(), Map.of("Authorization", "Bearer t" + n.incrementAndGet()), List.of())))
                    .onError((e, attempt) -> {
                        errors.record(((TetherException.HandshakeFailed) e).getStatus());
                        return ConnectionDecision.reconnectAfter(Duration.ofMillis(10));
                    })
                    .onDisconnect((d, attempt) -> ConnectionDecision.stayDown())
                    .build().connect().get(5, TimeUnit.SECONDS);
            assertEquals(401, errors.awaitItem(FIVE));
            assertEquals(401, errors.awaitItem(FIVE));
            assertEquals(2, conn.status().getAttempt());
            server.getConnections().get(0).drop();
            waitFor(() -> conn.status().getKind() == ConnectionStatus.Kind.DOWN);
            assertEquals(1006, conn.status().getDisconnect().getCode());
            conn.reconnect();
            conn.awaitConnected().get(5, TimeUnit.SECONDS);
            assertEquals(2, server.getConnections().size());
            conn.close();
        }
    }

    /** The echo script as a method reference. */
    static final class ServerConnectionEcho {
        static void echo(dev.tether.testkit.ServerConnection c) { c.echo(); }
    }

    @Test
    void cancellingFuturesCancelsTheWork() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.echo()) {
            TetherConnection conn = quick(server.url()).build().connect().get(5, TimeUnit.SECONDS);
            server.awaitConnection(FIVE);
            server.stop();
            waitFor(() -> conn.status().getKind() == ConnectionStatus.Kind.RECONNECTING);
            assertTrue(conn.status().getDelay().toMillis() > 0);
            CompletableFuture<Void> withdrawn = conn.sendText("withdrawn");
            assertTrue(withdrawn.cancel(true));
            conn.sendText("kept");
            server.start();
            dev.tether.testkit.ServerConnection second = server.awaitConnection(FIVE);
            assertEquals("kept", second.awaitReceived(1, FIVE).get(0).getText()); // not "withdrawn"
            conn.close();

            // cancelling connect() before it connects closes the connection
            TestWebSocketServer down = TestWebSocketServer.echo();
            String url = down.url();
            down.close();
            TetherClient client = quick(url).build();
            CompletableFuture<TetherConnection> pending = client.connect();
            assertTrue(pending.cancel(true));
            assertTrue(pending.isCancelled());
            TetherConnection started = client.start();
            assertFalse(started.isOpen());
            started.close();
            assertEquals(ConnectionStatus.Kind.CLOSED, started.status().getKind());
        }
    }

    @Test
    void framesPublisherHonoursBackpressure() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.withScript(c -> {
            for (int i = 1; i <= 5; i++) c.sendText("m" + i);
            c.echo();
        })) {
            TetherConnection conn = quick(server.url()).build().connect().get(5, TimeUnit.SECONDS);
            Recorder<String> got = new Recorder<>();
            Flow.Subscription[] sub = new Flow.Subscription[1];
            conn.frames().subscribe(new Flow.Subscriber<>() {
                @Override public void onSubscribe(Flow.Subscription s) { sub[0] = s; s.request(1); }
                @Override public void onNext(Frame f) { got.record(((Frame.Text) f).getText()); }
                @Override public void onError(Throwable t) { got.record("error " + t); }
                @Override public void onComplete() { got.record("complete"); }
            });
            assertEquals("m1", got.awaitItem(FIVE));
            got.expectNoItem(Duration.ofMillis(300)); // requested one, got one
            sub[0].request(2);
            assertEquals("m2", got.awaitItem(FIVE));
            assertEquals("m3", got.awaitItem(FIVE));
            got.expectNoItem(Duration.ofMillis(200));
            sub[0].cancel();
            conn.close();
        }
    }

    @Test
    void blockingReceiveFromVirtualThreads() throws Exception {
        boolean expected = Boolean.getBoolean("tether.expectVirtualThreads");
        boolean available = Runtime.version().feature() >= 21;
        if (expected) assertTrue(available, "the newer-JDK run must have virtual threads");
        Assumptions.assumeTrue(available, "virtual threads need JDK 21+; this part runs in the newer-JDK test run");
        ExecutorService virtual = (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
        try (TestWebSocketServer server = TestWebSocketServer.echo()) {
            List<TetherConnection> conns = new java.util.ArrayList<>();
            for (int i = 0; i < 20; i++) conns.add(quick(server.url()).build().connect().get(5, TimeUnit.SECONDS));
            List<java.util.concurrent.Future<String>> results = new java.util.ArrayList<>();
            for (int i = 0; i < conns.size(); i++) {
                TetherConnection c = conns.get(i);
                String word = "v" + i;
                results.add(virtual.submit(() -> {
                    assertTrue((Boolean) Thread.class.getMethod("isVirtual").invoke(Thread.currentThread()));
                    c.sendText(word).get(5, TimeUnit.SECONDS);
                    return ((Frame.Text) c.receive(FIVE).orElseThrow()).getText();
                }));
            }
            for (int i = 0; i < results.size(); i++) assertEquals("v" + i, results.get(i).get(10, TimeUnit.SECONDS));
            for (TetherConnection c : conns) virtual.submit(() -> c.close()).get(10, TimeUnit.SECONDS);
        } finally {
            virtual.shutdown();
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier check) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!check.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("condition not met in 10 s");
            Thread.sleep(10);
        }
    }

    @Test
    void eventsReachAJavaListenerInOrderWithTheConnectionId() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.echo()) {
            TetherConnection conn = quick(server.url()).build().connect().get(5, TimeUnit.SECONDS);
            Recorder<ConnectionEventInfo> events = new Recorder<>();
            try (AutoCloseable listening = conn.addEventListener(events::record)) {
                conn.sendText("hi").get(5, TimeUnit.SECONDS);
                conn.receive(Duration.ofSeconds(5));
                server.getConnections().get(0).close(4000, "bye");
                events.awaitItem(Duration.ofSeconds(5), e -> e.getKind() == ConnectionEventInfo.Kind.CONNECTED);
                conn.close(1000, "").get(5, TimeUnit.SECONDS);
                events.awaitItem(Duration.ofSeconds(5), e -> e.getKind() == ConnectionEventInfo.Kind.CLOSED);
            }
            List<ConnectionEventInfo.Kind> kinds = events.getItems().stream().map(ConnectionEventInfo::getKind)
                    .filter(k -> k != ConnectionEventInfo.Kind.FRAME_IN && k != ConnectionEventInfo.Kind.FRAME_OUT).toList();
            assertEquals(List.of(ConnectionEventInfo.Kind.DISCONNECTED, ConnectionEventInfo.Kind.RECONNECT_SCHEDULED,
                    ConnectionEventInfo.Kind.CONNECTING, ConnectionEventInfo.Kind.CONNECTED, ConnectionEventInfo.Kind.CLOSING,
                    ConnectionEventInfo.Kind.DISCONNECTED, ConnectionEventInfo.Kind.CLOSED), kinds);
            ConnectionEventInfo first = events.getItems().get(0);
            assertEquals(ConnectionEventInfo.Kind.FRAME_OUT, first.getKind());
            assertEquals(dev.tether.FrameKind.TEXT, first.getFrameKind());
            assertEquals(2, first.getSize());
            assertTrue(events.getItems().stream().allMatch(e -> e.getConnectionId().equals(conn.id())));
            ConnectionEventInfo disconnected = events.getItems().stream()
                    .filter(e -> e.getKind() == ConnectionEventInfo.Kind.DISCONNECTED).findFirst().orElseThrow();
            assertEquals(4000, disconnected.getDisconnect().getCode());
            // printed, an event tells its details (issue 24): code, reason, who ended it, after how long
            assertTrue(disconnected.toString().matches("ConnectionEventInfo\\(DISCONNECTED 4000 \"bye\" by server after \\d+(\\.\\d)? (ms|s)\\)"),
                    disconnected.toString());
            ConnectionEventInfo scheduled = events.getItems().stream()
                    .filter(e -> e.getKind() == ConnectionEventInfo.Kind.RECONNECT_SCHEDULED).findFirst().orElseThrow();
            assertTrue(scheduled.toString().matches("ConnectionEventInfo\\(RECONNECT_SCHEDULED attempt=1 in \\d+ ms\\)"),
                    scheduled.toString());
        }
    }

    /** A Java codec, as a Jackson or Gson user would write one: "x,y" points in text frames. */
    record Point(int x, int y) { }

    static final dev.tether.MessageCodec<Point> POINTS = new dev.tether.MessageCodec<>() {
        @Override
        public Frame encode(Point p) {
            return new Frame.Text(p.x() + "," + p.y());
        }

        @Override
        public Point decode(Frame frame) {
            String[] parts = ((Frame.Text) frame).getText().split(",");
            return new Point(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
        }
    };

    @Test
    void typedMessagesThroughAJavaCodecWithDecodeFailuresReported() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.withScript(c -> {
            c.sendText("not a point");
            c.echo();
        })) {
            Recorder<TetherException> errors = new Recorder<>();
            TetherConnection conn = quick(server.url()).listener(new Listener() {
                @Override
                public void onError(TetherConnection connection, TetherException error) {
                    errors.record(error);
                }
            }).build().connect().get(5, TimeUnit.SECONDS);
            conn.send(new Point(3, 4), POINTS).get(5, TimeUnit.SECONDS);
            assertEquals(Optional.of(new Point(3, 4)), conn.receive(POINTS, Duration.ofSeconds(5)));
            TetherException.DecodeFailed failed = (TetherException.DecodeFailed) errors.awaitItem(Duration.ofSeconds(5), e -> true);
            assertEquals(new Frame.Text("not a point"), failed.getFrame());
            assertTrue(conn.isOpen());
            ExecutionException refused = assertThrows(ExecutionException.class, () -> conn.send(null, POINTS).get(5, TimeUnit.SECONDS));
            assertInstanceOf(TetherException.EncodeFailed.class, refused.getCause());
            conn.close(1000, "").get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void throughAnHttpProxyFromJava() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.echo();
             dev.tether.testkit.TestProxy proxy = new dev.tether.testkit.TestProxy().start()) {
            TetherConnection conn = quick(server.url()).proxy(dev.tether.ProxyConfig.http("127.0.0.1", proxy.getPort()))
                    .build().connect().get(5, TimeUnit.SECONDS);
            conn.sendText("via proxy").get(5, TimeUnit.SECONDS);
            assertEquals("via proxy", ((Frame.Text) conn.receive(Duration.ofSeconds(5)).orElseThrow()).getText());
            assertEquals("127.0.0.1:" + server.getPort(), proxy.getTunnels().awaitItem(Duration.ofSeconds(5)));
            conn.close(1000, "").get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void compressionFromJavaWithAPerMessageOptOut() throws Exception {
        try (TestWebSocketServer server = new TestWebSocketServer()) {
            server.setCompression(new dev.tether.testkit.ServerCompression());
            server.start();
            TetherConnection conn = quick(server.url()).compressionThreshold(0).build().connect().get(5, TimeUnit.SECONDS);
            String squeezed = "squeezed ".repeat(10); // deflate shrinks it (a message it would grow goes uncompressed)
            conn.sendText(squeezed).get(5, TimeUnit.SECONDS);
            conn.send(new Frame.Text("as is", false)).get(5, TimeUnit.SECONDS);
            List<WireFrame> got = server.getConnections().get(0).awaitReceived(2, FIVE);
            assertEquals(4, got.get(0).getRsv());
            assertEquals(squeezed, got.get(0).getText());
            assertEquals(0, got.get(1).getRsv());
            assertEquals(squeezed, ((Frame.Text) conn.receive(FIVE).orElseThrow()).getText());
            assertEquals("as is", ((Frame.Text) conn.receive(FIVE).orElseThrow()).getText());
            conn.close(1000, "").get(5, TimeUnit.SECONDS);
        }
        try (TestWebSocketServer server = new TestWebSocketServer()) {
            server.setCompression(new dev.tether.testkit.ServerCompression());
            server.start();
            TetherConnection conn = quick(server.url()).compression(false).build().connect().get(5, TimeUnit.SECONDS);
            assertNull(server.getHandshakeRequests().get(0).header("Sec-WebSocket-Extensions"));
            conn.close(1000, "").get(5, TimeUnit.SECONDS);
        }
    }
}
