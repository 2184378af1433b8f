package dev.tether.jackson;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.tether.Frame;
import dev.tether.TetherException;
import dev.tether.java.Listener;
import dev.tether.java.TetherClient;
import dev.tether.java.TetherConnection;
import dev.tether.testkit.Recorder;
import dev.tether.testkit.TestWebSocketServer;
import dev.tether.testkit.WireFrame;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** tether-jackson end to end from Java: the facade's typed send and receive over the test kit's server. */
class JacksonCodecTest {
    private static final Duration FIVE = Duration.ofSeconds(5);

    /** A message type of the application: a record, as Jackson 2.12+ reads them. */
    record Quote(String symbol, double price) {}

    private final ObjectMapper mapper = new ObjectMapper();
    private final JacksonCodec<Quote> quotes = JacksonCodec.json(mapper, Quote.class);

    private static TetherClient.Builder quick(String url) {
        return TetherClient.builder(url).logInfo(false).closeTimeout(Duration.ofSeconds(2));
    }

    @Test
    void sendsJsonTextAndReceivesTypedValues() throws Exception {
        Recorder<String> seen = new Recorder<>();
        try (TestWebSocketServer server = TestWebSocketServer.withScript(c -> {
            WireFrame f = c.awaitFrame(FIVE);
            seen.record((f.isText() ? "text " : "binary ") + f.getText());
            c.sendText("{\"symbol\":\"BETA\",\"price\":7.25}");
            c.echo();
        })) {
            TetherConnection conn = quick(server.url()).build().connect().get(5, TimeUnit.SECONDS);
            conn.send(new Quote("ACME", 12.5), quotes).get(5, TimeUnit.SECONDS);
            assertEquals("text {\"symbol\":\"ACME\",\"price\":12.5}", seen.awaitItem(FIVE));
            assertEquals(Optional.of(new Quote("BETA", 7.25)), conn.receive(quotes, FIVE));

            JacksonCodec<List<Quote>> batches = JacksonCodec.json(mapper, new TypeReference<List<Quote>>() { });
            List<Quote> batch = List.of(new Quote("A", 1.0), new Quote("B", 2.0));
            conn.send(batch, batches).get(5, TimeUnit.SECONDS);
            assertEquals(Optional.of(batch), conn.receive(batches, FIVE)); // echoed
            conn.close();
        }
    }

    @Test
    void binaryFramesBothWays() throws Exception {
        JacksonCodec<Quote> binary = JacksonCodec.binary(mapper, Quote.class);
        Recorder<String> seen = new Recorder<>();
        try (TestWebSocketServer server = TestWebSocketServer.withScript(c -> {
            WireFrame f = c.awaitFrame(FIVE);
            seen.record((f.isBinary() ? "binary " : "text ") + f.getText());
            c.echo();
        })) {
            TetherConnection conn = quick(server.url()).build().connect().get(5, TimeUnit.SECONDS);
            conn.send(new Quote("ACME", 1.5), binary).get(5, TimeUnit.SECONDS);
            assertEquals("binary {\"symbol\":\"ACME\",\"price\":1.5}", seen.awaitItem(FIVE));
            conn.send(new Quote("ECHO", 2.5), binary).get(5, TimeUnit.SECONDS);
            assertEquals(Optional.of(new Quote("ECHO", 2.5)), conn.receive(quotes, FIVE)); // a json codec reads binary too
            conn.close();
        }
    }

    @Test
    void aMessageThatDoesNotDecodeIsReportedWithItsFrameAndSkipped() throws Exception {
        Recorder<TetherException> errors = new Recorder<>();
        try (TestWebSocketServer server = TestWebSocketServer.withScript(c -> {
            c.sendText("{\"symbol\":\"BAD\",\"price\":\"not a number\"}");
            c.sendText("{\"symbol\":\"OK\",\"price\":3.0}");
            c.echo();
        })) {
            TetherConnection conn = quick(server.url())
                    .listener(new Listener() {
                        @Override public void onError(TetherConnection c, TetherException error) { errors.record(error); }
                    })
                    .build().connect().get(5, TimeUnit.SECONDS);
            assertEquals(Optional.of(new Quote("OK", 3.0)), conn.receive(quotes, FIVE));
            TetherException.DecodeFailed failed = assertInstanceOf(TetherException.DecodeFailed.class, errors.awaitItem(FIVE));
            assertEquals(new Frame.Text("{\"symbol\":\"BAD\",\"price\":\"not a number\"}"), failed.getFrame());
            assertInstanceOf(MismatchedInputException.class, failed.getCause());
            assertTrue(conn.isOpen(), "a message that does not decode never ends the connection");
            conn.close();
        }
    }

    @Test
    void aValueJacksonRefusesFailsTheSendAndSendsNothing() throws Exception {
        try (TestWebSocketServer server = TestWebSocketServer.echo()) {
            TetherConnection conn = quick(server.url()).build().connect().get(5, TimeUnit.SECONDS);
            JacksonCodec<Object> any = JacksonCodec.json(mapper, Object.class);
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> conn.send(new Object(), any).get(5, TimeUnit.SECONDS)); // no properties: Jackson refuses
            assertInstanceOf(TetherException.EncodeFailed.class, e.getCause());
            conn.sendText("after").get(5, TimeUnit.SECONDS);
            assertEquals(Optional.of(new Frame.Text("after")), conn.receive(FIVE)); // nothing else was sent
            conn.close();
        }
    }

    @Test
    void otherFramesDoNotDecode() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> quotes.decode(new Frame.Ping()));
        assertTrue(e.getMessage().contains("holds no"), e.getMessage());
        assertEquals("JacksonCodec(" + Quote.class.getName() + ", text frames)", quotes.toString());
    }
}
