package dev.tether

import kotlin.time.Duration

/**
 * Everything that can go wrong with a Tether connection, as one sealed hierarchy with structured fields.
 *
 * Errors reach you through the `onError` and `onDisconnect` hooks (which decide what happens next), through
 * [ConnectionState] (as the cause of a reconnect or of the end), and as the failure of [Connection.send].
 * No transport (Ktor) type ever appears here.
 *
 * New subtypes may come in a minor release (0.x: any release): keep an `else` branch in a `when` over them.
 */
public sealed class TetherException(message: String, cause: Throwable? = null) : Exception(message, cause) {

    /** Why a TCP/TLS connection could not be opened. */
    public enum class ConnectFailure {
        /** Nothing listens on the port (connection refused). */
        REFUSED,

        /** The host name could not be resolved. */
        DNS,

        /** The connect timeout elapsed. */
        TIMEOUT,

        /** The TLS handshake failed (certificate, protocol). */
        TLS,

        /** Any other I/O failure before the HTTP upgrade. */
        OTHER,

        /** The proxy refused the tunnel or failed to open it ([ConnectFailed.proxyStatus] says how). */
        PROXY,
    }

    /**
     * The connection could not be opened at all. [url] has credentials redacted. [proxyStatus] is the proxy's answer
     * when [kind] is [ConnectFailure.PROXY]: the HTTP status of a `CONNECT` or the SOCKS5 reply code, and 407 when
     * either kind of proxy wants credentials it did not get or refused ours; otherwise 0.
     */
    public class ConnectFailed @dev.tether.engine.TetherEngineApi constructor(
        public val url: String,
        public val kind: ConnectFailure,
        cause: Throwable? = null,
        public val proxyStatus: Int = 0,
    ) : TetherException("connect to $url failed: $kind${cause?.message?.let { " ($it)" } ?: ""}", cause)

    /**
     * The server answered the upgrade request with something other than a valid `101 Switching Protocols`.
     *
     * @property status the HTTP status the server sent (101 if the status was right but the answer was not,
     *   e.g. an unrequested subprotocol).
     * @property headers the response headers, names in lower case.
     * @property bodySnippet the first bytes of the response body, decoded as UTF-8 (at most 1 KiB).
     * @property retryAfter the server's `Retry-After`, if it sent one.
     */
    public class HandshakeFailed @dev.tether.engine.TetherEngineApi constructor(
        public val url: String,
        public val status: Int,
        public val headers: Map<String, List<String>>,
        public val bodySnippet: String,
        public val retryAfter: Duration?,
        detail: String = "unexpected status $status",
    ) : TetherException("handshake with $url failed: $detail") {
        /** [retryAfter] in milliseconds, for Java callers; null if the server sent none. */
        public val retryAfterMillis: Long? get() = retryAfter?.inWholeMilliseconds
    }

    /**
     * The connection ended without a close frame (TCP reset, EOF, write failure). Reported as code 1006.
     * [byPeer] says who ended it: true when the server or the network did (EOF, reset), false when Tether did
     * (an I/O failure on this side, an abort).
     */
    public class ConnectionLost @dev.tether.engine.TetherEngineApi constructor(detail: String, cause: Throwable? = null, public val byPeer: Boolean = true) :
        TetherException("connection lost (${if (byPeer) "by the peer" else "by Tether"}): $detail", cause)

    /**
     * The server broke RFC 6455. Tether failed the connection and sent [closeCode] (1002, or 1007 for invalid
     * UTF-8) to the server.
     */
    public class ProtocolViolation @dev.tether.engine.TetherEngineApi constructor(public val closeCode: Int, detail: String) :
        TetherException("protocol violation: $detail") // the close code travels beside the reason: not repeated here

    /** No pong arrived within [pongTimeout] of a ping: the link is dead. */
    public class DeadLink @dev.tether.engine.TetherEngineApi constructor(public val pongTimeout: Duration) :
        TetherException("no pong within $pongTimeout: the link is dead") {
        /** [pongTimeout] in milliseconds, for Java callers. */
        public val pongTimeoutMillis: Long get() = pongTimeout.inWholeMilliseconds
    }

    /** The user hook named [hook] threw [cause]. The connection is not harmed by it; `onError` decides. */
    public class HandlerFailed @dev.tether.engine.TetherEngineApi constructor(public val hook: String, cause: Throwable) :
        TetherException("hook $hook failed: $cause", cause)

    /**
     * A payload could not be decoded into the type you asked for (by a [MessageCodec], or the Phoenix client);
     * [frame] is the message as it came, when there is one.
     */
    public class DecodeFailed @dev.tether.engine.TetherEngineApi constructor(
        detail: String,
        cause: Throwable? = null,
        public val frame: Frame? = null,
    ) : TetherException("decode failed: $detail", cause)

    /** A value could not be encoded into a frame. */
    public class EncodeFailed @dev.tether.engine.TetherEngineApi constructor(detail: String, cause: Throwable? = null) :
        TetherException("encode failed: $detail", cause)

    /**
     * A frame or reassembled message of [size] bytes exceeded [limit]. Tether closed the connection with 1009.
     * [size] is -1 when only the frame header was seen. [isFrame] says which limit: `maxFrameSize` (one frame as it
     * came on the wire) or `maxMessageSize` (the whole message, inflated if it was compressed).
     */
    public class FrameTooLarge @dev.tether.engine.TetherEngineApi @JvmOverloads constructor(
        public val size: Long,
        public val limit: Long,
        public val isFrame: Boolean = false,
    ) : TetherException(
        if (isFrame) {
            "frame of $size bytes exceeds maxFrameSize ($limit bytes)"
        } else {
            "message of $size bytes exceeds maxMessageSize ($limit bytes)"
        },
    )

    /**
     * A frame was not sent. [reason] says why; the frame itself is in [frame].
     */
    public class SendFailed @dev.tether.engine.TetherEngineApi constructor(public val frame: Frame, public val reason: SendFailure, detail: String = reason.name) :
        TetherException("send of $frame failed: $detail")

    /**
     * A received message was dropped: the incoming buffer was full and its policy drops, or the message arrived
     * while the client was closing and nobody would read it. [detail] says which buffer or why. [count] messages
     * were dropped for the same reason ([frame] is the last of them): drops while closing are reported once, with
     * their count, when the client has closed.
     */
    public class MessageDropped @dev.tether.engine.TetherEngineApi @JvmOverloads constructor(
        public val frame: Frame,
        public val detail: String = "incoming buffer full",
        public val count: Long = 1,
    ) : TetherException(if (count == 1L) "$detail: dropped $frame" else "$detail: dropped $count messages, the last $frame")

    /**
     * The circuit breaker opened: [failures] connect attempts failed within [within] (`reconnect { circuitBreaker(...) }`),
     * so the connection stopped retrying and went `Down`; `reconnect()` (or `resume()`, or the gate opening) tries
     * again. [lastCause] is the last failure.
     */
    public class CircuitOpen @dev.tether.engine.TetherEngineApi constructor(public val failures: Int, public val within: Duration, public val lastCause: TetherException?) :
        TetherException("$failures connect attempts failed within $within: not retrying until reconnect()", lastCause)

    /** The reconnect policy gave up after [attempts] attempts; [lastCause] is the last failure. */
    public class ReconnectExhausted @dev.tether.engine.TetherEngineApi constructor(public val attempts: Int, public val lastCause: TetherException?) :
        TetherException("gave up after $attempts reconnect attempts", lastCause)

    /** Why a frame was not sent. */
    public enum class SendFailure {
        /** The outgoing buffer was full and its policy is to fail. */
        BUFFER_FULL,

        /** The frame was evicted from the full outgoing buffer by a newer one (policy DROP_OLDEST). */
        DROPPED_OLDEST,

        /** The frame was refused because the full outgoing buffer keeps older ones (policy DROP_NEWEST). */
        DROPPED_NEWEST,

        /** Not connected and the policy rejects sends while disconnected. */
        NOT_CONNECTED,

        /** The connection was lost before the frame was written. */
        CONNECTION_LOST,

        /** The client is closed. */
        CLOSED,

        /** The frame waited in the outbox past its time to live (`outboxTimeToLive`, or the send's own) and was not sent. */
        EXPIRED,
    }
}
