package dev.tether.engine

import dev.tether.TetherException
import dev.tether.internal.Redaction
import dev.tether.internal.RetryAfter

/** Helpers that make an engine report what Tether's own engine reports, the same way. Thread-safe. */
@TetherEngineApi
public object EngineSupport {
    /** [url] as Tether shows it anywhere: without user info, every query value replaced by `***`. */
    public fun redactUrl(url: String): String = Redaction.url(url)

    /** The failure for an upgrade refused with [status]; reads `Retry-After` from [headers] (names in lower case). */
    public fun refused(
        url: String,
        status: Int,
        headers: Map<String, List<String>>,
        bodySnippet: String,
    ): TetherException.HandshakeFailed = TetherException.HandshakeFailed(
        redactUrl(url), status, headers, bodySnippet, RetryAfter.parse(headers["retry-after"]?.firstOrNull()),
    )
}
