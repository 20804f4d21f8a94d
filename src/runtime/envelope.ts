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

/** `causeSeq`/`replySeq` when the message they point at has no send seq in this run (or there is none). */
export const NO_SEQ = -1;

/**
 * The runtime's own envelope object. A send makes exactly one of these: the sender
 * builds it (`seq`, `sentAt` and `deliverAt` are filled in when it is posted, which
 * may be at the end of the sender's turn), and it is also the event the receiving
 * actor gets — `{ type, payload, envelope }` with `envelope` being itself — so a
 * delivery allocates no second object. Once posted it is never changed again,
 * except that its digest is filled in lazily.
 *
 * Besides the public string fields it carries their numeric forms — the sender's
 * serial number and the send seqs of the messages named by `cause` and `inReplyTo` —
 * so the event log can keep a message as a row of numbers instead of holding on to
 * the envelope and its strings (see MessageTable). For the same reason the id string
 * is made only when someone reads it: most messages are never asked for theirs.
 */
export class PostedEnvelope<P = unknown> implements Envelope<P> {
  seq = -1;
  sentAt = 0;
  deliverAt = 0;
  duplicate: boolean | undefined = undefined;
  reordered: boolean | undefined = undefined;
  private idText: string | undefined = undefined;

  constructor(
    readonly from: ActorId,
    /** How many messages `from` had sent before this one. */
    readonly serial: number,
    readonly to: ActorId,
    readonly type: string,
    readonly payload: P,
    readonly cause: string | null,
    /** Send seq of the message named by `cause`, or NO_SEQ (no cause, or a timer). */
    readonly causeSeq: number,
    readonly inReplyTo: string | undefined,
    /** Send seq of the request named by `inReplyTo`, or NO_SEQ. */
    readonly replySeq: number,
    public digest: string | undefined,
    readonly bytes: number | undefined,
  ) {}

  /** `<from>:<serial>`, made on first read. */
  get id(): string {
    if (this.idText === undefined) this.idText = messageId(this.from, this.serial);
    return this.idText;
  }

  /** An envelope is its own `ActorMessage` (see the class comment). */
  get envelope(): this {
    return this;
  }

  /** A copy the fault plan injects: its own seq and arrival time, the same id and payload. */
  duplicateAt(seq: number, deliverAt: number): PostedEnvelope<P> {
    const { from, serial, to, type, payload, cause, causeSeq, inReplyTo, replySeq, digest, bytes } = this;
    const copy = new PostedEnvelope(from, serial, to, type, payload, cause, causeSeq, inReplyTo, replySeq, digest, bytes);
    copy.seq = seq;
    copy.sentAt = this.sentAt;
    copy.deliverAt = deliverAt;
    copy.duplicate = true;
    copy.reordered = this.reordered;
    return copy;
  }

  /** What `JSON.stringify` shows: every field of an Envelope, the id included. */
  toJSON(): Envelope<P> {
    const { seq, id, from, to, type, payload, sentAt, deliverAt, cause, inReplyTo, duplicate, reordered, digest, bytes } = this;
    return { seq, id, from, to, type, payload, sentAt, deliverAt, cause, inReplyTo, duplicate, reordered, digest, bytes };
  }
}

/** The id of the `serial`-th message sent by `from`. */
export function messageId(from: ActorId, serial: number): string {
  return `${from}:${serial}`;
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
