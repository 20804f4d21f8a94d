/**
 * The envelope: the unit the bus carries and the scheduler delivers.
 *
 * An envelope is immutable once sent. Its payload is handed to the receiver by
 * reference (the simulator does not copy), so neither side may mutate it; strict
 * mode proves every payload can cross a real wire.
 */

export type ActorId = string;

export interface Envelope<P = unknown> {
  /** Position in the send order of this simulation (a duplicate gets its own seq). */
  readonly seq: number;
  /** Message id: stable across duplicates of the same message, and across runs with one seed. */
  readonly id: string;
  readonly from: ActorId;
  readonly to: ActorId;
  readonly type: string;
  readonly payload: P;
  /** Virtual time (ms) at which it was sent. */
  readonly sentAt: number;
  /** Virtual time (ms) before which it cannot be delivered (latency, faults, the sender's busy time). */
  readonly deliverAt: number;
  /** Id of the message whose handling sent this one; `null` when the driver (scenario code) sent it. */
  readonly cause: string | null;
  /** For replies: the id of the request answered. */
  readonly inReplyTo?: string;
  /** True when this copy was injected by the fault plan's `duplicate`. */
  readonly duplicate?: boolean;
  /** True when the fault plan let this message overtake its channel (no FIFO for it). */
  readonly reordered?: boolean;
  /** Payload digest, when the sender already computed it (otherwise it is computed lazily for the log). */
  digest?: string;
  /** Would-be wire size in bytes, when the sender computed it (see src/messages). */
  readonly bytes?: number;
}

/** What a sender provides (with the id it was given at send time); the runtime fills in the rest. */
export interface Outgoing<P = unknown> {
  id: string;
  to: ActorId;
  type: string;
  payload: P;
  inReplyTo?: string;
  digest?: string;
  bytes?: number;
}

/** Reply types the runtime itself understands. */
export const ERROR_REPLY = 'error';

/** The payload of an error reply: enough to rebuild a typed error on the requesting side. */
export interface ErrorPayload {
  name: string;
  message: string;
  /** Where it happened: actor id, object id, op — whatever the handler knows. */
  where?: Record<string, unknown>;
  data?: Record<string, unknown>;
}

export function channelKey(from: ActorId, to: ActorId): string {
  return `${from}\u2192${to}`;
}
