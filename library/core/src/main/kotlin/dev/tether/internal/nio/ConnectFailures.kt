package dev.tether.internal.nio

import dev.tether.TetherException
import dev.tether.TetherException.ConnectFailure
import java.io.IOException
import java.net.ConnectException
import java.net.NoRouteToHostException
import java.net.UnknownHostException
import java.nio.channels.UnresolvedAddressException
import javax.net.ssl.SSLException

/** Maps what went wrong before the upgrade to [TetherException.ConnectFailed] with the right kind. */
internal object ConnectFailures {
    fun of(url: String, e: Throwable): TetherException.ConnectFailed {
        if (e is TetherException.ConnectFailed) return e
        val kind = when (e) {
            is ConnectException, is NoRouteToHostException -> ConnectFailure.REFUSED
            is UnknownHostException, is UnresolvedAddressException -> ConnectFailure.DNS
            is SSLException -> ConnectFailure.TLS
            else -> ConnectFailure.OTHER
        }
        val cause = if (e is SSLException && e.message?.contains("plaintext", ignoreCase = true) == true ||
            e.message?.contains("Unsupported or unrecognized SSL message") == true
        ) {
            SSLException("the server did not answer in TLS (is it a plain ws:// server?): ${e.message}", e)
        } else {
            e
        }
        return TetherException.ConnectFailed(url, kind, cause)
    }

    /** The server closed the connection before TCP/TLS setup finished. */
    fun eof(url: String, tls: Boolean): TetherException.ConnectFailed = if (tls) {
        TetherException.ConnectFailed(
            url, ConnectFailure.TLS,
            SSLException("the server closed the connection during the TLS handshake (is it a plain ws:// server?)"),
        )
    } else {
        TetherException.ConnectFailed(url, ConnectFailure.OTHER, IOException("the server closed the connection"))
    }
}
