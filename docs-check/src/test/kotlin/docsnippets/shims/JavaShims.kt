/*
 * The base classes of the guides' Java snippets (each snippet is the body of a method of a subclass): the reader's
 * own fields and methods, declared so that the snippets compile as written; never run.
 */
package docsnippets.shims

import dev.tether.Frame
import dev.tether.java.TetherConnection
import dev.tether.testkit.Recorder
import org.slf4j.Logger
import org.slf4j.LoggerFactory
import java.net.URI
import java.net.http.HttpClient
import java.net.http.WebSocket
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CompletionStage
import java.util.concurrent.Executor
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit

/** For docs/java.md: a URL, an executor, the connection of an earlier snippet, a logger, a token service. */
public abstract class JavaShims {
    @JvmField protected val url: String = "ws://127.0.0.1:8080/feed"
    @JvmField protected val endpoint: String = "ws://127.0.0.1:4000/socket"
    @JvmField protected val myExecutor: Executor = Executors.newSingleThreadExecutor()
    @JvmField protected val log: Logger = LoggerFactory.getLogger("snippets")
    @JvmField protected var conn: TetherConnection? = null
    @JvmField protected var connection: TetherConnection? = null
    @JvmField protected val tokenService: TokenService = TokenService()
    @JvmField protected val tokens: TokenService = TokenService()

    protected fun handle(frame: Frame) { }

    public class TokenService {
        public fun fresh(): CompletionStage<String> = CompletableFuture.completedFuture("token")
        public fun current(): String = "token"
    }
}

/** For docs/testing.md's Java section: the JDK's own WebSocket client standing for the reader's client. */
public abstract class JdkClientShims {
    /** Records what the JDK client receives ("pong" for a pong). */
    public open class Listener : WebSocket.Listener {
        @JvmField public val events: Recorder<String> = Recorder()
    }

    protected fun connect(url: String, listener: Listener): WebSocket =
        HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(URI.create(url), listener).get(5, TimeUnit.SECONDS)

    public companion object {
        @JvmField public val FIVE: Duration = Duration.ofSeconds(5)
    }
}
