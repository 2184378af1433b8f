package dev.tether.internal

import dev.tether.engine.EngineFrame
import dev.tether.engine.EngineSession
import dev.tether.engine.WebSocketEngine

/** Core's names for the engine SPI (see [WebSocketEngine]): the seam under the protocol engine. */
internal typealias Transport = WebSocketEngine

/** One open connection through the seam. */
internal typealias TransportSession = EngineSession

/** A frame as it crossed the seam. */
internal typealias RawFrame = EngineFrame
