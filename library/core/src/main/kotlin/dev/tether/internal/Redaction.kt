package dev.tether.internal

/** Keeps credentials out of logs, messages and toString(). */
internal object Redaction {
    private val SECRET_PARAM = Regex(
        "(?i)([?&](?:token|access_token|auth|authorization|apikey|api_key|key|password|passwd|secret|jwt|session|sig|signature|code)=)[^&#]*",
    )
    private val USER_INFO = Regex("^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@")


    /** The URL with user info and token-like query parameters replaced by `***`. */
    fun url(url: String): String = SECRET_PARAM.replace(USER_INFO.replace(url, "$1***@"), "$1***")

}
