/**
 * Every message of a run as a row of numbers, for the in-memory event log.
 *
 * Row n is the envelope with send seq n (originals and fault-plan copies alike, in
 * the order they were posted). Actor ids and message types are interned; message
 * ids are kept as (sender, serial) and the messages named by `cause` and `inReplyTo`
 * as their send seqs. So the log holds no envelope and no string per message — only
 * the payload, whose digest is computed when the log is first read. An `Envelope`
 * is rebuilt from its row on demand, equal field for field to the one that was sent.
 */
import { NumberRows } from './columns.js';
import { type Envelope, messageId, NO_SEQ, type PostedEnvelope } from './envelope.js';
import { NameTable } from './name-table.js';

/** `cause`/`inReplyTo` that name no message of this run (a timer, a kept `{ id }`): the string is in a side table. */
const AS_STRING = -2;
const DUPLICATE = 1;
const REORDERED = 2;

/** The fields of a row. */
const FROM = 0;
const SERIAL = 1;
const TO = 2;
const TYPE = 3;
const CAUSE = 4;
const REPLY = 5;
const FLAGS = 6;
const SENT_AT = 7;
const DELIVER_AT = 8;
/** NaN when the sender gave no size. */
const BYTES = 9;
const WIDTH = 10;

export class MessageTable {
  private readonly names = new NameTable();
  /** One per field, so each remembers its own last name (consecutive messages mostly repeat them). */
  private readonly fromNames = this.names.lookup();
  private readonly toNames = this.names.lookup();
  private readonly typeNames = this.names.lookup();
  private readonly rows = new NumberRows(WIDTH);
  private readonly payloads: unknown[] = [];
  /** Digests the sender provided, by send seq (tensor payloads: computed before anyone could dispose them). */
  private readonly digests = new Map<number, string>();
  private readonly causeStrings = new Map<number, string>();
  private readonly replyStrings = new Map<number, string>();
  /** Envelopes rebuilt so far, so every read of one message yields the same object. */
  private readonly rebuilt: Array<Envelope | undefined> = [];

  get size(): number {
    return this.rows.length;
  }

  add(envelope: PostedEnvelope): void {
    const seq = this.size;
    if (envelope.seq !== seq) {
      throw new RangeError(`MessageTable: the envelope with send seq ${envelope.seq} came when row ${seq} was expected; rows are added in send order`);
    }
    const at = this.rows.addRow();
    const row = this.rows.chunk;
    row[at + FROM] = this.fromNames.index(envelope.from);
    row[at + SERIAL] = envelope.serial;
    row[at + TO] = this.toNames.index(envelope.to);
    row[at + TYPE] = this.typeNames.index(envelope.type);
    row[at + CAUSE] = this.refFor(envelope.causeSeq, envelope.cause, seq, this.causeStrings);
    row[at + REPLY] = this.refFor(envelope.replySeq, envelope.inReplyTo, seq, this.replyStrings);
    row[at + FLAGS] = (envelope.duplicate ? DUPLICATE : 0) | (envelope.reordered ? REORDERED : 0);
    row[at + SENT_AT] = envelope.sentAt;
    row[at + DELIVER_AT] = envelope.deliverAt;
    row[at + BYTES] = envelope.bytes ?? NaN;
    this.payloads.push(envelope.payload);
    if (envelope.digest !== undefined) this.digests.set(seq, envelope.digest);
  }

  /** The envelope with send seq `seq`, as it was sent. */
  envelope(seq: number): Envelope {
    const known = this.rebuilt[seq];
    if (known) return known;
    const field = (f: number) => this.rows.get(seq, f);
    const flags = field(FLAGS);
    const bytes = field(BYTES);
    const envelope: Envelope = {
      seq,
      id: this.idOf(seq),
      from: this.names.at(field(FROM)),
      to: this.names.at(field(TO)),
      type: this.names.at(field(TYPE)),
      payload: this.payloads[seq],
      sentAt: field(SENT_AT),
      deliverAt: field(DELIVER_AT),
      cause: this.resolve(field(CAUSE), seq, this.causeStrings) ?? null,
      inReplyTo: this.resolve(field(REPLY), seq, this.replyStrings),
      duplicate: flags & DUPLICATE ? true : undefined,
      reordered: flags & REORDERED ? true : undefined,
      digest: this.digests.get(seq),
      bytes: Number.isNaN(bytes) ? undefined : bytes,
    };
    this.rebuilt[seq] = envelope;
    return envelope;
  }

  private idOf(seq: number): string {
    return messageId(this.names.at(this.rows.get(seq, FROM)), this.rows.get(seq, SERIAL));
  }

  /** A message named by its send seq when it has one; otherwise the name itself goes to a side table. */
  private refFor(namedSeq: number, name: string | null | undefined, seq: number, strings: Map<number, string>): number {
    if (namedSeq !== NO_SEQ) return namedSeq;
    if (name === null || name === undefined) return NO_SEQ;
    strings.set(seq, name);
    return AS_STRING;
  }

  private resolve(ref: number, seq: number, strings: Map<number, string>): string | undefined {
    if (ref === NO_SEQ) return undefined;
    if (ref === AS_STRING) return strings.get(seq);
    return this.idOf(ref);
  }
}
