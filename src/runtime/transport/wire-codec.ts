/**
 * How a live transport turns a message into bytes and back. The runtime does not know
 * what a payload holds (tensors, ring words): the message layer's wire format does
 * (src/messages/wire.ts exports `wireCodec`), and the one that starts a live run hands it
 * to the transport. Decoding is the transport's first check: a frame that is not a
 * well-formed message is refused before any actor sees it.
 */
export interface WireCodec {
  encode(type: string, payload: unknown): Uint8Array;
  /** Throws on a malformed frame; tensors come back owned by the caller. */
  decode(frame: Uint8Array): { type: string; payload: unknown };
  /**
   * Frees what a payload owns (its tensors) once it has been encoded: the message owns
   * them, and live the message is the bytes that left, not the objects.
   */
  release(payload: unknown): void;
}
