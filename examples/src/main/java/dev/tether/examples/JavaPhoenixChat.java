package dev.tether.examples;

import dev.tether.java.PhoenixClient;
import dev.tether.java.PhoenixMessage;
import dev.tether.testkit.FakePhoenixServer;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A Phoenix chat room from Java: an embedded fake Phoenix server relays {@code new_msg} pushes; Alice and Bob join
 * {@code room:lobby} and chat with futures. Run:
 * {@code mvn -q -pl examples -am -DskipTests -Pdemo verify -Ddemo.main=dev.tether.examples.JavaPhoenixChat}
 */
public final class JavaPhoenixChat {
    private JavaPhoenixChat() { }

    public static void main(String[] args) throws Exception {
        run(System.out);
    }

    /** Runs the example, printing to {@code out}. */
    public static void run(PrintStream out) throws Exception {
        try (FakePhoenixServer server = new FakePhoenixServer().start()) {
            server.setPushHandler((topic, event, payload) -> {
                if (event.equals("new_msg")) server.broadcast(topic, "new_msg", payload);
                return FakePhoenixServer.Answer.ok();
            });
            try (PhoenixClient alice = PhoenixClient.builder(server.getEndpoint())
                         .params(() -> Map.of("user", "alice")).logInfo(false).build().connect();
                 PhoenixClient bob = PhoenixClient.builder(server.getEndpoint())
                         .params(() -> Map.of("user", "bob")).logInfo(false).build().connect()) {
                PhoenixClient.Channel aliceRoom = alice.channel("room:lobby", () -> "{\"name\":\"alice\"}");
                PhoenixClient.Channel bobRoom = bob.channel("room:lobby", () -> "{\"name\":\"bob\"}");
                aliceRoom.join().get(5, TimeUnit.SECONDS);
                bobRoom.join().get(5, TimeUnit.SECONDS);
                out.println("alice and bob joined room:lobby");

                bobRoom.addMessageListener(m -> out.println("bob's listener got " + m.getEvent() + " " + m.getPayloadJson()));
                aliceRoom.push("new_msg", "{\"from\":\"alice\",\"body\":\"hi bob\"}").get(5, TimeUnit.SECONDS);
                PhoenixMessage got = bobRoom.awaitMessage("new_msg", Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS);
                out.println("bob received " + got.getPayloadJson());

                bobRoom.push("new_msg", "{\"from\":\"bob\",\"body\":\"hi alice\"}").get(5, TimeUnit.SECONDS);
                PhoenixMessage reply = aliceRoom.awaitMessage("new_msg", m -> m.getPayloadJson().contains("\"bob\""),
                        Duration.ofSeconds(5)).get(5, TimeUnit.SECONDS);
                out.println("alice received " + reply.getPayloadJson());

                aliceRoom.leave().get(5, TimeUnit.SECONDS);
                bobRoom.leave().get(5, TimeUnit.SECONDS);
                out.println("both left");
            }
        }
    }
}
