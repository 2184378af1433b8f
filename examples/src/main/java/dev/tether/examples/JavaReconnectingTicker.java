package dev.tether.examples;

import dev.tether.java.ConnectionStatus;
import dev.tether.java.Listener;
import dev.tether.java.TetherClient;
import dev.tether.java.TetherConnection;
import dev.tether.testkit.TestWebSocketServer;
import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A reconnecting ticker from Java: the server sends a tick every 50 ms; it restarts; the listener (on an executor
 * of our own) shows the reconnect with its backoff delay, and ticks resume. Run:
 * {@code mvn -q -pl examples -am -DskipTests -Pdemo verify -Ddemo.main=dev.tether.examples.JavaReconnectingTicker}
 */
public final class JavaReconnectingTicker {
    private JavaReconnectingTicker() { }

    public static void main(String[] args) throws Exception {
        run(System.out);
    }

    /** Runs the example, printing to {@code out}. */
    public static void run(PrintStream out) throws Exception {
        ExecutorService callbacks = Executors.newSingleThreadExecutor(r -> new Thread(r, "ticker-callbacks"));
        AtomicInteger served = new AtomicInteger();
        try (TestWebSocketServer server = TestWebSocketServer.withScript(c -> {
            int connection = served.incrementAndGet();
            try {
                for (int i = 1; i <= 1000; i++) {
                    c.sendText("tick " + connection + "." + i);
                    Thread.sleep(50);
                }
            } catch (Exception e) {
                // the connection went away
            }
        })) {
            CountDownLatch firstTicks = new CountDownLatch(3);
            CountDownLatch laterTicks = new CountDownLatch(3);
            Listener listener = new Listener() {
                @Override public void onText(TetherConnection c, String text) {
                    out.println("received " + text);
                    (text.startsWith("tick 1.") ? firstTicks : laterTicks).countDown();
                }
                @Override public void onStateChange(TetherConnection c, ConnectionStatus s) {
                    if (s.getKind() == ConnectionStatus.Kind.RECONNECTING) {
                        out.println("reconnecting: attempt " + s.getAttempt() + " in " + s.getDelay().toMillis() + " ms");
                    } else {
                        out.println("state " + s.getKind());
                    }
                }
            };
            TetherClient client = TetherClient.builder(server.url("/ticks"))
                    .backoff(Duration.ofMillis(100), Duration.ofSeconds(2), 2.0)
                    .logInfo(false).logErrors(false)
                    .listener(listener)
                    .callbackExecutor(callbacks)
                    .build();
            try (TetherConnection conn = client.connect().get(10, TimeUnit.SECONDS)) {
                firstTicks.await(5, TimeUnit.SECONDS);
                out.println("server restarts");
                server.stop();
                Thread.sleep(400);
                server.start();
                if (!laterTicks.await(10, TimeUnit.SECONDS)) throw new IllegalStateException("no ticks after the restart");
                out.println("ticks resumed after the reconnect");
            }
        } finally {
            callbacks.shutdown();
        }
    }
}
