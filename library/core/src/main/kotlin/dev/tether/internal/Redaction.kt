package dev.tether.internal

/** Keeps credentials out of logs, messages and toString(). */
internal object Redaction {
    private val QUERY_VALUE = Regex("([?&][^=&#]*=)[^&#]*")
    private val USER_INFO = Regex("^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@?#]*@")

    /** The URL with user info and every query value replaced by `***` (names stay, values never appear). */
    fun url(url: String): String = QUERY_VALUE.replace(USER_INFO.replace(url, "$1***@"), "$1***")
}
