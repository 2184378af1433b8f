package dev.tether.java;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.Frame;
import dev.tether.testkit.ConnectionScript;
import dev.tether.testkit.ServerConnection;
import dev.tether.testkit.TestWebSocketServer;
import dev.tether.testkit.WireFrame;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The Java facade's contracts (issue 9): order, end of stream, closing from a listener, no half-built object. */
@Timeout(120)
class FacadeSemanticsTest {
    private static final Duration FIVE = Duration.ofSeconds(5);
    private final ExecutorService callbacks = Executors.newSingleThreadExecutor(r -> new Thread(r, "app-callbacks"));

    @AfterEach
    void stop() {
        callbacks.shutdownNow();
    }

    private TetherClient.Builder quick(String url) {
        return TestClients.quick(url, callbacks);
    }

    @Test
    void sendsFromOneThreadArriveInCallOrder() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.withScript(c -> c.awaitClosed(Duration.ofSeconds(30)))) {
            try (TetherConnection conn = quick(server.url("/")).build().connect().get(5, TimeUnit.SECONDS)) {
                List<CompletableFuture<Void>> sent = new ArrayList<>();
                for (int i = 0; i < 10_000; i++) sent.add(conn.sendText("m" + i));
                CompletableFuture.allOf(sent.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
                List<String> got = server.getConnections().get(0).awaitReceived(10_000, Duration.ofSeconds(30))
                        .stream().map(WireFrame::getText).collect(Collectors.toList());
                for (int i = 0; i < 10_000; i++) assertEquals("m" + i, got.get(i), "position " + i);
            }
        }
    }

    /** Issue 21, item 7: dependent stages of a send's future never run on a socket thread (tether-io-N). */
    @Test
    void sendFuturesCompleteOnTheCallbackExecutorWhenTheSocketWasBackedUp() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.withScript(c -> { })) {
            try (TetherConnection conn = quick(server.url("/")).build().connect().get(5, TimeUnit.SECONDS)) {
                server.awaitConnection(FIVE).setReading(false);
                List<CompletableFuture<Void>> sent = new ArrayList<>();
                ConcurrentLinkedQueue<String> threads = new ConcurrentLinkedQueue<>();
                byte[] big = new byte[256 << 10];
                // 40 MiB: past what loopback's socket buffers take, so direct writes wait in the backlog for the loop
                for (int i = 0; i < 160; i++) sent.add(conn.sendBinary(big));
                long waited = sent.stream().filter(f -> !f.isDone()).count();
                assertTrue(waited > 0, "the socket backed up: the path under test ran");
                for (CompletableFuture<Void> f : sent) f.thenRun(() -> threads.add(Thread.currentThread().getName()));
                server.getConnections().get(0).setReading(true);
                CompletableFuture.allOf(sent.toArray(new CompletableFuture[0])).get(30, TimeUnit.SECONDS);
                assertTrue(threads.stream().noneMatch(t -> t.startsWith("tether-io")), threads.toString());
            }
        }
    }

    /**
     * With reconnecting off, a listener that leaves the decision to Tether gets core's rule: the default Reconnect
     * after a server's 1001 becomes Close, so the connection ends after one connection (issue 23: the facade no
     * longer repeats that rule; it asks the core's HookScope.defaultDecision).
     */
    @Test
    void withReconnectOffTheDefaultDecisionClosesAfterTheFirstDisconnect() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.withScript(c -> c.close(1001, "bye"))) {
            CompletableFuture<ConnectionStatus> terminated = new CompletableFuture<>();
            quick(server.url("/")).reconnect(false).listener(new Listener() {
                @Override
                public void onTerminate(TetherConnection c, ConnectionStatus status) {
                    terminated.complete(status);
                }
            }).build().connect();
            ConnectionStatus end = terminated.get(30, TimeUnit.SECONDS);
            assertEquals(ConnectionStatus.Kind.CLOSED, end.getKind());
            assertEquals(1001, end.getCode());
            assertEquals(1, server.getConnections().size(), "no reconnect");
        }
    }

    /**
     * Test-kit scripts and handlers may throw checked exceptions from Java lambdas (issue 24); a script that throws
     * closes its connection with 1011 and the exception as the reason, so the client under test sees it.
     */
    @Test
    void aTestKitScriptMayThrowACheckedExceptionAndTheClientSeesIt() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.withScript(c -> {
            throw new java.util.concurrent.TimeoutException("fixture not ready");
        })) {
            CompletableFuture<DisconnectInfo> disconnected = new CompletableFuture<>();
            quick(server.url("/")).reconnect(false).listener(new Listener() {
                @Override
                public void onDisconnect(TetherConnection c, DisconnectInfo d) {
                    disconnected.complete(d);
                }
            }).build().connect(); // the connection ends after this one disconnect (reconnecting is off)
            DisconnectInfo d = disconnected.get(30, TimeUnit.SECONDS);
            assertEquals(1011, d.getCode());
            assertTrue(d.getReason().contains("TimeoutException: fixture not ready"), d.getReason());
        }
    }

    /** A send refused at once (the connection closed) is complete, and failed, when it returns (the at-once path). */
    @Test
    void aSendAfterCloseFailsAtOnce() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.echo()) {
            TetherConnection conn = quick(server.url("/")).build().connect().get(5, TimeUnit.SECONDS);
            conn.close(1000, "").get(5, TimeUnit.SECONDS);
            CompletableFuture<Void> late = conn.sendText("late");
            assertTrue(late.isCompletedExceptionally(), "a send after close must fail, not report written");
        }
    }

    @Test
    void receiveTellsTheEndOfTheStreamFromATimeout() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.withScript(c -> { c.sendText("last"); c.echo(); })) {
            TetherConnection conn = quick(server.url("/")).build().connect().get(5, TimeUnit.SECONDS);
            assertEquals(new Frame.Text("last"), conn.receive(FIVE).orElseThrow());
            assertEquals(Optional.empty(), conn.receive(Duration.ofMillis(20)), "a time-out is empty");
            conn.close();
            ConnectionClosedException end = assertThrows(ConnectionClosedException.class, () -> conn.receive(FIVE));
            assertEquals(ConnectionStatus.Kind.CLOSED, end.getStatus().getKind());
            assertThrows(ConnectionClosedException.class, () -> conn.receive(FIVE), "and again on every later call");
        }
    }

    @Test
    void closeFromAListenerReturnsAtOnceAndTheConnectionCloses() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.withScript(c -> { c.sendText("bye"); c.echo(); })) {
            CountDownLatch returned = new CountDownLatch(1);
            CountDownLatch terminated = new CountDownLatch(1);
            long[] took = new long[1];
            TetherClient client = quick(server.url("/")).closeTimeout(Duration.ofSeconds(30)).listener(new Listener() {
                @Override
                public void onText(TetherConnection c, String text) {
                    long t0 = System.nanoTime();
                    c.close();
                    took[0] = System.nanoTime() - t0;
                    returned.countDown();
                }

                @Override
                public void onTerminate(TetherConnection c, ConnectionStatus status) {
                    terminated.countDown();
                }
            }).build();
            client.start();
            assertTrue(returned.await(10, TimeUnit.SECONDS), "close() from the listener returned");
            assertTrue(terminated.await(10, TimeUnit.SECONDS), "and the connection closed well within closeTimeout");
            assertTrue(took[0] < TimeUnit.SECONDS.toNanos(5), "close() from a listener does not wait: " + took[0]);
        }
    }

    @Test
    void onOpenNeverSeesAHalfBuiltConnection() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.echo()) {
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            AtomicInteger opened = new AtomicInteger();
            TetherClient client = quick(server.url("/")).callbackExecutor(Runnable::run).listener(new Listener() {
                @Override
                public void onOpen(TetherConnection c, ConnectionStatus status) {
                    try {
                        c.status().getKind();
                        c.isOpen();
                        opened.incrementAndGet();
                    } catch (Throwable t) {
                        errors.add(t);
                    }
                }
            }).build();
            List<TetherConnection> all = new ArrayList<>();
            for (int i = 0; i < 100; i++) all.add(client.start());
            for (TetherConnection c : all) c.awaitConnected().get(10, TimeUnit.SECONDS);
            all.forEach(TetherConnection::close);
            assertEquals(List.of(), new ArrayList<>(errors));
            assertEquals(100, opened.get());
        }
    }

    @Test
    void aCallbackExecutorShutDownBeforeCloseIsReportedNotThrownAndCloseStillEnds() throws Exception {
        ExecutorService own = Executors.newSingleThreadExecutor();
        ConcurrentLinkedQueue<Throwable> uncaught = new ConcurrentLinkedQueue<>();
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(e));
        try (TestWebSocketServer server = TestWebSocketServer.echo()) {
            TetherConnection conn = TestClients.quick(server.url("/"), own)
                    .connectTimeout(Duration.ofSeconds(1)) // bounds how long a stuck onOpen holds the outbox
                    .listener(new Listener() {
                        @Override
                        public void onText(TetherConnection c, String text) { }
                    }).build().connect().get(5, TimeUnit.SECONDS);
            own.shutdownNow();
            conn.sendText("after the executor is gone").get(5, TimeUnit.SECONDS);
            long t0 = System.nanoTime();
            conn.close();
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "close() still ends within its bounds");
            assertEquals(ConnectionStatus.Kind.CLOSED, conn.status().getKind());
            assertEquals(List.of(), new ArrayList<>(uncaught));
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
    }

    @Test
    void aGateAndPauseResumeFromJava() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.echo()) {
            ConnectionGate gate = new ConnectionGate(false);
            try (TetherConnection conn = quick(server.url("/")).gate(gate).idleTimeout(Duration.ofMinutes(5)).build().start()) {
                while (conn.status().getKind() != ConnectionStatus.Kind.PAUSED) Thread.onSpinWait();
                assertEquals("GATE", conn.status().getReason());
                assertEquals(0, server.getConnections().size());
                gate.open();
                conn.awaitConnected().get(5, TimeUnit.SECONDS);
                conn.pause();
                while (conn.status().getKind() != ConnectionStatus.Kind.PAUSED) Thread.onSpinWait();
                assertEquals("PAUSED", conn.status().getReason());
                conn.resume();
                conn.awaitConnected().get(5, TimeUnit.SECONDS);
                assertEquals(2, server.getConnections().size());
            }
        }
    }

    @Test
    void connectAndAwaitConnectedFailPromptlyWhenTheServerRefusesFor404() throws Exception {
        try (TestWebSocketServer server = new TestWebSocketServer(r -> dev.tether.testkit.HandshakeResponse.refuse(404)).start()) {
            TetherClient client = quick(server.url("/")).build();
            java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> client.connect().get(5, TimeUnit.SECONDS));
            assertEquals(404, ((dev.tether.TetherException.HandshakeFailed) e.getCause()).getStatus());
            try (TetherConnection conn = client.start()) {
                assertThrows(java.util.concurrent.ExecutionException.class, () -> conn.awaitConnected().get(5, TimeUnit.SECONDS));
                assertEquals(ConnectionStatus.Kind.DOWN, conn.status().getKind());
            }
        }
    }

    @Test
    void framesSentFromOnOpenGoBeforeFramesQueuedWhileOffline() throws Exception {
        AtomicInteger n = new AtomicInteger();
        ConnectionScript script = c -> {
            if (n.incrementAndGet() == 1) {
                c.awaitFrame(FIVE);
                c.drop();
            } else {
                c.echo();
            }
        };
        try (TestWebSocketServer server = TestWebSocketServer.withScript(script)) {
            TetherConnection conn = quick(server.url("/"))
                    .backoff(Duration.ofSeconds(60), Duration.ofSeconds(60), 1.0)
                    .listener(new Listener() {
                        @Override
                        public void onOpen(TetherConnection c, ConnectionStatus status) {
                            c.sendText("subscribe");
                        }
                    }).build().connect().get(5, TimeUnit.SECONDS);
            try (conn) {
                while (conn.status().getKind() != ConnectionStatus.Kind.RECONNECTING) Thread.onSpinWait();
                conn.sendText("queued");
                conn.reconnect();
                ServerConnection second = server.awaitConnection(FIVE);
                if (second.getId() == 1) second = server.awaitConnection(FIVE);
                List<String> got = second.awaitReceived(2, FIVE).stream().map(WireFrame::getText).collect(Collectors.toList());
                assertEquals(List.of("subscribe", "queued"), got);
            }
        }
    }
}
