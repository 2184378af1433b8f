package dev.tether

/**
 * Close codes from RFC 6455 section 7.4 and the rules Tether applies to them.
 */
public object CloseCodes {
    /** Normal closure. */
    public const val NORMAL: Int = 1000

    /** The endpoint is going away (server shutdown, page navigation). */
    public const val GOING_AWAY: Int = 1001

    /** The peer violated the protocol. */
    public const val PROTOCOL_ERROR: Int = 1002

    /** The peer sent a data type the endpoint cannot accept. */
    public const val UNSUPPORTED_DATA: Int = 1003

    /** Reported, never sent: the connection closed without a close frame. */
    public const val ABNORMAL: Int = 1006

    /** A text message or close reason was not valid UTF-8. */
    public const val INVALID_PAYLOAD: Int = 1007

    /** The endpoint's policy was violated. */
    public const val POLICY_VIOLATION: Int = 1008

    /** A message or frame was larger than the endpoint accepts. */
    public const val TOO_BIG: Int = 1009

    /** The client expected an extension the server did not negotiate. */
    public const val MANDATORY_EXTENSION: Int = 1010

    /** The server hit an unexpected condition. */
    public const val INTERNAL_ERROR: Int = 1011

    /** The server is restarting. */
    public const val SERVICE_RESTART: Int = 1012

    /** The server is overloaded; try again later. */
    public const val TRY_AGAIN_LATER: Int = 1013

    /** A gateway got an invalid response upstream. */
    public const val BAD_GATEWAY: Int = 1014

    /** The longest close reason, in UTF-8 bytes, that fits a control frame. */
    public const val MAX_REASON_BYTES: Int = 123

    /**
     * True if [code] may appear in a close frame on the wire: 1000–1003, 1007–1014 and 3000–4999.
     * 1004, 1005, 1006 and 1015 are reserved and never sent.
     */
    public fun isValidOnWire(code: Int): Boolean =
        code in 1000..1003 || code in 1007..1014 || code in 3000..4999

    /**
     * Checks that [code] and [reason] may be sent in a close frame.
     *
     * @throws IllegalArgumentException naming the offending argument: a code outside the valid ranges, or a
     *   reason longer than 123 bytes of UTF-8.
     */
    public fun requireValid(code: Int, reason: String) {
        require(isValidOnWire(code)) {
            "close code $code is not allowed on the wire (valid: 1000-1003, 1007-1014, 3000-4999)"
        }
        val bytes = reason.toByteArray(Charsets.UTF_8).size
        require(bytes <= MAX_REASON_BYTES) {
            "close reason is $bytes bytes of UTF-8; at most $MAX_REASON_BYTES are allowed"
        }
    }
}
