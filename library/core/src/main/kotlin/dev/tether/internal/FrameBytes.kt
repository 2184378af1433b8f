package dev.tether.internal

import dev.tether.Frame

/** What [Frame]'s classes share, kept out of a companion so that Java reaches nothing of it. */
internal object FrameBytes {
    val EMPTY: ByteArray = ByteArray(0)

    /** A binary frame over [bytes] without the copy the public constructor makes: for the reader's own arrays. */
    fun binaryNoCopy(bytes: ByteArray): Frame.Binary = Frame.Binary(EMPTY).also { it.data = bytes }

    fun requireControlPayload(size: Int, kind: String) {
        require(size <= 125) { "$kind payload must be at most 125 bytes, was $size" }
    }
}
