package dev.tether.examples;

import dev.tether.Frame;
import dev.tether.java.TetherClient;
import dev.tether.java.TetherConnection;
import dev.tether.testkit.TestWebSocketServer;
import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Echo from Java: an embedded echo server on loopback, a Tether connection, three messages sent with futures and
 * read back with the blocking receive. Run:
 * {@code mvn -q -pl examples -am -DskipTests -Pdemo verify -Ddemo.main=dev.tether.examples.JavaEcho}
 */
public final class JavaEcho {
    private JavaEcho() { }

    public static void main(String[] args) throws Exception {
        run(System.out);
    }

    /** Runs the example, printing to {@code out}. */
    public static void run(PrintStream out) throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.echo()) {
            TetherClient client = TetherClient.builder(server.url("/echo")).logInfo(false).build();
            try (TetherConnection conn = client.connect().get(10, TimeUnit.SECONDS)) {
                out.println("connected: " + conn.status().getKind());
                for (String word : new String[] {"one", "two", "three"}) {
                    conn.sendText(word).get(5, TimeUnit.SECONDS);
                    Frame reply = conn.receive(Duration.ofSeconds(5)).orElseThrow();
                    out.println("sent " + word + ", echoed " + ((Frame.Text) reply).getText());
                }
                out.println("closed: " + conn.close(1000, "done").get(5, TimeUnit.SECONDS).getCode());
            }
        }
    }
}
