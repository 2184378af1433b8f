package dev.tether.engine

/**
 * A frame as it came off (or goes onto) the wire. [opcode] of a continuation is that of the message it continues;
 * [rsv] holds RSV1..RSV3 as a number from 0 to 7 (RSV1 = 4). [data] is not copied: the receiver owns it.
 */
@TetherEngineApi
public class EngineFrame @JvmOverloads constructor(
    /** 1 text, 2 binary, 8 close, 9 ping, 10 pong (or a reserved value the engine saw). */
    public val opcode: Int,
    /** The FIN bit. */
    public val fin: Boolean,
    /** RSV1..RSV3. */
    public val rsv: Int,
    /** The unmasked payload. */
    public val data: ByteArray,
    /**
     * Outgoing data frames only: false when the application asked for this message to go uncompressed; an engine that
     * negotiated compression must then send it as is. Ignored on frames an engine returns.
     */
    public val compress: Boolean = true,
) {
    override fun toString(): String = "EngineFrame(opcode=$opcode, fin=$fin, rsv=$rsv, ${data.size} bytes)"

    /** The opcodes. */
    public companion object {
        /** Text. */
        public const val TEXT: Int = 1

        /** Binary. */
        public const val BINARY: Int = 2

        /** Close. */
        public const val CLOSE: Int = 8

        /** Ping. */
        public const val PING: Int = 9

        /** Pong. */
        public const val PONG: Int = 10
    }
}
