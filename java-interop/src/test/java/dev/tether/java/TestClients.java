package dev.tether.java;

import java.time.Duration;
import java.util.concurrent.Executor;

/** Clients with quick timings for the facade's tests, on loopback servers of the test kit. */
final class TestClients {
    private TestClients() {}

    /** A builder for [url] with fast reconnects, a 2 s close timeout, no INFO logs, listeners on [callbacks]. */
    static TetherClient.Builder quick(String url, Executor callbacks) {
        return TetherClient.builder(url)
                .logInfo(false)
                .backoff(Duration.ofMillis(20), Duration.ofMillis(200), 2.0)
                .jitter(0.0)
                .closeTimeout(Duration.ofSeconds(2))
                .callbackExecutor(callbacks);
    }
}
