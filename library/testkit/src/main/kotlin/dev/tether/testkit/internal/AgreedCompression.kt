package dev.tether.testkit.internal

/** What the test server agreed for permessage-deflate: the response header and the server's own parameters. */
internal class AgreedCompression(val header: String, val serverNoContextTakeover: Boolean, val serverWindowBits: Int)
