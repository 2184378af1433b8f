package dev.tether.java;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tether.phoenix.ChannelState;
import dev.tether.testkit.FakePhoenixServer;
import dev.tether.testkit.Recorder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Phoenix from Java, against the test kit's fake Phoenix server. */
class PhoenixClientTest {
    private static final Duration FIVE = Duration.ofSeconds(5);
    private final ExecutorService callbacks = Executors.newSingleThreadExecutor(r -> new Thread(r, "phx-callbacks"));

    @AfterEach
    void stop() {
        callbacks.shutdownNow();
    }

    private PhoenixClient.Builder quick(FakePhoenixServer server) {
        return PhoenixClient.builder(server.getEndpoint())
                .reconnectAfter(n -> Duration.ofMillis(50))
                .rejoinAfter(n -> Duration.ofMillis(100))
                .pushTimeout(Duration.ofSeconds(2))
                .heartbeatInterval(Duration.ofSeconds(1))
                .heartbeatTimeout(Duration.ofSeconds(5)) // a late reply on a busy machine is not a dead link
                .header("X-Client", "java")
                .logInfo(false)
                .logErrors(false)
                .callbackExecutor(callbacks);
    }

    /** close() ended the socket: the server sees every connection closed. */
    private static void waitClosed(FakePhoenixServer server) throws InterruptedException {
        for (dev.tether.testkit.ServerConnection c : server.getServer().getConnections()) assertTrue(c.awaitClosed(FIVE));
        assertEquals(0, server.getOpenSockets());
    }

    @Test
    void joinPushReplyLeave() throws Exception {
        try (FakePhoenixServer server = new FakePhoenixServer().start()) {
            server.setJoinHandler((topic, payload) -> topic.equals("room:closed")
                    ? FakePhoenixServer.Answer.error("{\"reason\":\"closed\"}")
                    : FakePhoenixServer.Answer.ok("{\"you\":" + payload + "}"));
            server.setPushHandler((topic, event, payload) ->
                    event.equals("silent") ? FakePhoenixServer.Answer.none() : FakePhoenixServer.Answer.ok(payload));
            AtomicInteger connects = new AtomicInteger();
            try (PhoenixClient socket = quick(server)
                    .params(() -> Map.of("token", "t" + connects.incrementAndGet()))
                    .build().connect()) {
                PhoenixClient.Channel room = socket.channel("room:1", () -> "{\"name\":\"java\"}");
                assertEquals("room:1", room.topic());
                PhoenixReply joined = room.join().get(5, TimeUnit.SECONDS);
                assertTrue(joined.isOk());
                assertEquals(PhoenixReply.Status.OK, joined.getStatus());
                assertEquals("{\"you\":{\"name\":\"java\"}}", joined.getResponseJson());
                assertEquals(ChannelState.JOINED, room.state());
                assertTrue(socket.isConnected());
                assertEquals("t1", server.getServer().getHandshakeRequests().get(0).queryParameter("token"));
                assertEquals("java", server.getServer().getHandshakeRequests().get(0).header("x-client"));

                assertEquals("{\"n\":1}", room.push("echo", "{\"n\":1}").get(5, TimeUnit.SECONDS).getResponseJson());
                assertEquals(PhoenixReply.Status.TIMEOUT,
                        room.push("silent", "{}", Duration.ofMillis(100)).get(5, TimeUnit.SECONDS).getStatus());
                PhoenixReply bin = room.pushBinary("blob", new byte[] {4, 5}).get(5, TimeUnit.SECONDS);
                assertArrayEquals(new byte[] {4, 5}, bin.responseBytes());
                assertNull(bin.getResponseJson());

                PhoenixClient.Channel closed = socket.channel("room:closed");
                PhoenixReply refused = closed.join(Duration.ofSeconds(2)).get(5, TimeUnit.SECONDS);
                assertEquals(PhoenixReply.Status.ERROR, refused.getStatus());
                assertEquals("{\"reason\":\"closed\"}", refused.getResponseJson());
                closed.leave().get(5, TimeUnit.SECONDS);

                assertTrue(room.leave().get(5, TimeUnit.SECONDS).isOk());
                assertEquals(ChannelState.CLOSED, room.state());
                ExecutionException twice = assertThrows(ExecutionException.class, () -> room.join().get(5, TimeUnit.SECONDS));
                assertTrue(twice.getCause() instanceof IllegalStateException);
            }
            waitClosed(server);
        }
    }

    /** Issue 21, item 2: a written push whose reply never comes completes when the socket is closed (it hung). */
    @Test
    void anUnansweredPushCompletesWhenTheSocketCloses() throws Exception {
        try (FakePhoenixServer server = new FakePhoenixServer().start()) {
            server.setPushHandler((topic, event, payload) -> FakePhoenixServer.Answer.none());
            CompletableFuture<PhoenixReply> pending;
            PhoenixClient client = quick(server).pushTimeout(Duration.ofSeconds(60)).build();
            assertEquals(ConnectionStatus.Kind.NOT_STARTED, client.status().getKind()); // issue 21, item 18: not CONNECTING
            try (PhoenixClient socket = client.connect()) {
                PhoenixClient.Channel room = socket.channel("room:silent");
                assertTrue(room.join().get(5, TimeUnit.SECONDS).isOk());
                pending = room.push("silent", "{}");
                assertEquals("silent", server.awaitPush(FIVE).getEvent());
            }
            assertEquals(PhoenixReply.Status.TIMEOUT, pending.get(5, TimeUnit.SECONDS).getStatus());
        }
    }

    @Test
    void messagesAwaitsAndPresenceOnTheChosenExecutor() throws Exception {
        try (FakePhoenixServer server = new FakePhoenixServer().start()) {
            try (PhoenixClient socket = quick(server)
                    .paramsAsync(() -> CompletableFuture.supplyAsync(() -> Map.of("token", "async")))
                    .build().connect()) {
                PhoenixClient.Channel room = socket.channel("room:2");
                Recorder<String> seen = new Recorder<>();
                List<String> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
                AutoCloseable subscription = room.addMessageListener(m -> {
                    threads.add(Thread.currentThread().getName());
                    seen.record(m.getEvent() + " " + (m.getPayloadJson() != null ? m.getPayloadJson() : m.payloadBytes().length + " bytes"));
                });
                Recorder<String> presence = new Recorder<>();
                room.setPresenceListener(new PresenceListener() {
                    @Override public void onJoin(String key, List<String> joined) { presence.record("join " + key + " " + joined.size()); }
                    @Override public void onLeave(String key, List<String> left) { presence.record("leave " + key); }
                    @Override public void onSync(Map<String, List<String>> all) { presence.record("sync " + new java.util.TreeSet<>(all.keySet())); }
                });
                room.join().get(5, TimeUnit.SECONDS);
                assertEquals("async", server.getServer().getHandshakeRequests().get(0).queryParameter("token"));

                server.broadcast("room:2", "news", "{\"a\":1}");
                assertEquals("news {\"a\":1}", seen.awaitItem(FIVE));
                server.broadcastBinary("room:2", "bin", new byte[3]);
                assertEquals("bin 3 bytes", seen.awaitItem(FIVE));
                server.push("room:2", "pick", "{\"n\":1}");
                server.push("room:2", "pick", "{\"n\":2}");
                assertEquals("{\"n\":2}", room.awaitMessage("pick", m -> m.getPayloadJson().contains("2"), FIVE)
                        .get(5, TimeUnit.SECONDS).getPayloadJson());
                server.push("room:2", "later", "{\"b\":2}");
                PhoenixMessage later = room.awaitMessage("later", FIVE).get(5, TimeUnit.SECONDS);
                assertEquals("{\"b\":2}", later.getPayloadJson());
                assertEquals("room:2", later.getTopic());
                assertNull(later.payloadBytes());
                ExecutionException none = assertThrows(ExecutionException.class,
                        () -> room.awaitMessage("never", Duration.ofMillis(100)).get(5, TimeUnit.SECONDS));
                assertTrue(none.getCause() instanceof dev.tether.phoenix.PhoenixTimeoutException);

                server.presenceState("room:2", "{\"ann\":{\"metas\":[{\"phx_ref\":\"1\"}]}}");
                assertEquals("join ann 1", presence.awaitItem(FIVE, s -> s.startsWith("join")));
                assertEquals("sync [ann]", presence.awaitItem(FIVE, s -> s.startsWith("sync")));
                server.presenceDiff("room:2", "{}", "{\"ann\":{\"metas\":[{\"phx_ref\":\"1\"}]}}");
                assertEquals("leave ann", presence.awaitItem(FIVE, s -> s.startsWith("leave")));
                presence.awaitItem(FIVE, s -> s.equals("sync []"));
                assertEquals(Map.of(), room.presence());

                seen.awaitItem(FIVE, s -> s.startsWith("presence_diff"));
                subscription.close();
                int before = seen.getItems().size();
                // a barrier, not a sleep: a listener still subscribed gets "news" and then "marker", in order, on the
                // same queue; once it has "marker", the removed one would have had "news" already
                Recorder<String> still = new Recorder<>();
                AutoCloseable stillSubscribed = room.addMessageListener(m -> still.record(m.getEvent()));
                server.broadcast("room:2", "news", "{}");
                server.broadcast("room:2", "marker", "{}");
                still.awaitItem(FIVE, e -> e.equals("marker"));
                stillSubscribed.close();
                assertEquals(before, seen.getItems().size(), "no message after the listener was removed");
                assertTrue(threads.stream().allMatch(n -> n.equals("phx-callbacks")), threads.toString());

                // the socket reconnects and the channel rejoins by itself
                server.dropSockets();
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (server.getJoins().size() < 2 && System.nanoTime() < end) Thread.sleep(20);
                assertEquals(2, server.getJoins().size());
                while (server.getHeartbeats() == 0 && System.nanoTime() < end) Thread.sleep(20); // one beat a second
                assertTrue(server.getHeartbeats() > 0);
            }
            waitClosed(server);
        }
    }

    @Test
    void aMessageListenerIsSubscribedWhenAddMessageListenerReturns() throws Exception {
        try (FakePhoenixServer server = new FakePhoenixServer().start();
             PhoenixClient socket = quick(server).build().connect()) {
            PhoenixClient.Channel room = socket.channel("room:sub");
            room.join().get(5, TimeUnit.SECONDS);
            // the message is broadcast right after the listener is added: it must reach it, every time
            for (int i = 0; i < 200; i++) {
                Recorder<String> seen = new Recorder<>();
                AutoCloseable listener = room.addMessageListener(m -> seen.record(m.getEvent()));
                server.broadcast("room:sub", "n" + i, "{}");
                assertEquals("n" + i, seen.awaitItem(FIVE), "message " + i);
                listener.close();
            }
        }
    }

    @Test
    void stateEventsErrorsAndBufferOptionsFromJava() throws Exception {
        try (FakePhoenixServer server = new FakePhoenixServer().start()) {
            AtomicInteger refusals = new AtomicInteger(1);
            server.getServer().setHandshakeHandler(r -> refusals.getAndDecrement() > 0
                    ? dev.tether.testkit.HandshakeResponse.refuse(403)
                    : dev.tether.testkit.HandshakeResponse.accept());
            Recorder<PhoenixEventInfo> events = new Recorder<>();
            Recorder<dev.tether.TetherException> errors = new Recorder<>();
            Recorder<dev.tether.TetherException> decodeErrors = new Recorder<>();
            PhoenixClient client = quick(server)
                    .messageBuffer(8, dev.tether.OverflowPolicy.DROP_NEWEST)
                    .maxQueuedPushes(100)
                    .outgoingBuffer(32, dev.tether.OverflowPolicy.SUSPEND)
                    .incomingBuffer(32, dev.tether.OverflowPolicy.SUSPEND)
                    .onError(errors::record)
                    .onDecodeError(decodeErrors::record)
                    .build();
            client.addEventListener(events::record);
            try (PhoenixClient socket = client.connect()) {
                PhoenixEventInfo failed = events.awaitItem(FIVE, e -> e.getKind() == PhoenixEventInfo.Kind.CONNECT_FAILED);
                assertEquals(403, ((dev.tether.TetherException.HandshakeFailed) failed.getError()).getStatus());
                events.awaitItem(FIVE, e -> e.getKind() == PhoenixEventInfo.Kind.RECONNECT_SCHEDULED);
                events.awaitItem(FIVE, e -> e.getKind() == PhoenixEventInfo.Kind.OPENED);
                assertEquals(ConnectionStatus.Kind.CONNECTED, socket.status().getKind());
                PhoenixClient.Channel room = socket.channel("room:j");
                room.join().get(5, TimeUnit.SECONDS);
                PhoenixEventInfo joined = events.awaitItem(FIVE, e -> e.getKind() == PhoenixEventInfo.Kind.JOINED);
                assertEquals("room:j", joined.getTopic());
                room.addMessageListener(m -> { throw new IllegalStateException("listener bug"); });
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (errors.getItems().isEmpty() && System.nanoTime() < until) { // messages are hot: until subscribed
                    server.broadcast("room:j", "hello", "{}");
                    Thread.sleep(20);
                }
                dev.tether.TetherException bug = errors.awaitItem(FIVE, e -> e instanceof dev.tether.TetherException.HandlerFailed);
                assertEquals("onMessage", ((dev.tether.TetherException.HandlerFailed) bug).getHook());
                server.getServer().getConnections().get(server.getServer().getConnections().size() - 1).sendText("not phoenix");
                decodeErrors.awaitItem(FIVE, e -> e instanceof dev.tether.TetherException.DecodeFailed);
                assertTrue(room.push("echo", "{\"still\":\"fine\"}").get(5, TimeUnit.SECONDS).isOk());
                server.kickSockets(4001, "kicked");
                PhoenixEventInfo closed = events.awaitItem(FIVE, e -> e.getKind() == PhoenixEventInfo.Kind.CLOSED);
                assertEquals(4001, closed.getCode());
                assertEquals("kicked", closed.getReason());
                assertTrue(closed.getByServer());
            }
        }
    }

    @Test
    void maxQueuedPushesBoundsThePushesHeldForTheJoin() throws Exception {
        try (FakePhoenixServer server = new FakePhoenixServer().start()) {
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            server.setJoinHandler((topic, payload) -> {
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return FakePhoenixServer.Answer.ok("{}");
            });
            try (PhoenixClient socket = quick(server).maxQueuedPushes(2).build().connect()) {
                PhoenixClient.Channel room = socket.channel("room:held");
                java.util.concurrent.CompletableFuture<PhoenixReply> joined = room.join();
                java.util.concurrent.CompletableFuture<PhoenixReply> first = room.push("echo", "{}");
                java.util.concurrent.CompletableFuture<PhoenixReply> second = room.push("echo", "{}");
                PhoenixReply third = room.push("echo", "{}").get(5, TimeUnit.SECONDS); // at once: no room to hold it
                assertEquals(PhoenixReply.Status.FAILED, third.getStatus());
                release.countDown();
                assertTrue(joined.get(5, TimeUnit.SECONDS).isOk());
                assertTrue(first.get(5, TimeUnit.SECONDS).isOk());
                assertTrue(second.get(5, TimeUnit.SECONDS).isOk());
            }
        }
    }
}
