package dev.tether

/**
 * Tether's default decisions, used when you set no `onError` / `onDisconnect` hook, and callable from your own
 * hooks to fall back on them. They follow Fresh: reconnect after a disconnect and after most errors. The full
 * table, with reasons, is in `docs/reconnect.md`.
 */
public object DefaultPolicy {
    /**
     * The default for a failure outside a running connection.
     *
     * - connect failed (refused, DNS, timeout, TLS): [Decision.Reconnect];
     * - a proxy refused our credentials or wants some (`ConnectFailure.PROXY` with `proxyStatus` 407, HTTP or
     *   SOCKS5): [Decision.StayDown], like a 401/403 from the server (the same credentials would fail again);
     * - handshake 401/403: [Decision.Reconnect] when [hasConnectProvider] (it can mint fresh credentials),
     *   else [Decision.StayDown] (the same credentials would fail again);
     * - handshake 408, 429 and 5xx: [Decision.ReconnectAfter] the server's `Retry-After` when it sent one, else
     *   [Decision.Reconnect];
     * - handshake, other statuses (400, 404, 426, a wrong subprotocol…): [Decision.StayDown];
     * - a hook that threw, a decode/encode failure, a dropped message or frame: [Decision.Ignore];
     * - anything else: [Decision.Reconnect].
     */
    public fun onError(error: TetherException, hasConnectProvider: Boolean): Decision = when (error) {
        is TetherException.ConnectFailed ->
            if (error.kind == TetherException.ConnectFailure.PROXY && error.proxyStatus == PROXY_CREDENTIALS) {
                Decision.StayDown
            } else {
                Decision.Reconnect
            }
        is TetherException.HandshakeFailed -> when (error.status) {
            401, 403 -> if (hasConnectProvider) Decision.Reconnect else Decision.StayDown
            408, 429, in 500..599 -> error.retryAfter?.let { Decision.ReconnectAfter(it) } ?: Decision.Reconnect
            else -> Decision.StayDown
        }
        is TetherException.HandlerFailed,
        is TetherException.DecodeFailed,
        is TetherException.EncodeFailed,
        is TetherException.MessageDropped,
        is TetherException.SendFailed,
        -> Decision.Ignore
        else -> Decision.Reconnect
    }

    /**
     * The default after a connection that was up ended:
     *
     * - 1008 (policy violation), 1003 (unsupported data), 1010 (extension required): [Decision.StayDown]: the same
     *   client would be refused again;
     * - everything else, including 1000 and 1001 from the server, 1006 (lost, dead link), 1011–1014, the protocol
     *   errors 1002/1007/1009 and the application codes 3000–4999: [Decision.Reconnect] with backoff.
     */
    public fun onDisconnect(disconnect: Disconnect): Decision = when (disconnect.code) {
        CloseCodes.POLICY_VIOLATION, CloseCodes.UNSUPPORTED_DATA, CloseCodes.MANDATORY_EXTENSION -> Decision.StayDown
        else -> Decision.Reconnect
    }

    /** A proxy's "credentials needed or refused" (HTTP 407; SOCKS5 authentication failures are reported as 407 too). */
    private const val PROXY_CREDENTIALS = 407
}
