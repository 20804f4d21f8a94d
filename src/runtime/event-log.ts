/**
 * The event log: a header line, then one canonical JSON line per event.
 *
 * Events are kept as objects while the run goes (cheap: a push), and turned into
 * lines only when someone reads the log. A line's keys come in a fixed order and
 * its payload appears only as a type and a digest, so the same run gives the same
 * bytes, and two logs can be compared line by line.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { digestOf, sha256Hex } from './canonical.js';
import { NumberRows } from './columns.js';
import type { Envelope, PostedEnvelope } from './envelope.js';
import { MessageTable } from './message-table.js';
import { type MessageEvent, MessageEventRecord, type SimEvent } from './events.js';
import type { StrategySpec } from './scheduling/strategy.js';
import type { FaultPlan } from './faults/fault-plan.js';
import type { RunPolicies } from './policies.js';

export const LOG_FORMAT = 1;

export interface LogHeader {
  kind: 'fedsim-log';
  format: number;
  fedsim: string;
  seed: number | string;
  strategy: StrategySpec;
  faults: FaultPlan;
  backend: string;
  latency: number | 'custom';
  /** What produced the run (a scenario file and its parameters), so `fedsim replay` can run it again. */
  scenario?: Record<string, unknown>;
  /** 'schedule-replay' when the delivery order came from another log. */
  mode?: string;
  /** The run's privacy policies (release policy, unsafe settings declared), when it declared any. */
  policies?: RunPolicies;
  /** 'nats' (or another live transport) for the merged recording of a live run; absent for simulated runs. */
  transport?: string;
  /** Live recordings: the processes that recorded the run, and the actors each hosted. */
  hosts?: Array<{ host: string; actors: string[] }>;
}

/** The digest of an envelope's payload, computed once and kept on the envelope. */
export function envelopeDigest(envelope: Envelope): string {
  if (envelope.digest === undefined) envelope.digest = digestOf(envelope.payload);
  return envelope.digest;
}

/** JSON text of a number, as JSON.stringify writes it. */
const num = (n: number) => (Number.isFinite(n) ? String(n) : 'null');
const str = (s: string) => JSON.stringify(s);

/**
 * The line of a message event: exactly what JSON.stringify gives for an object with
 * these keys in this order, but written directly — a streamed log writes two of
 * these per message, and building and stringifying an object each time was the
 * bulk of the cost.
 */
function messageEventLine(event: MessageEvent): string {
  const e = event.envelope;
  let line = `{"seq":${num(event.seq)},"t":${num(event.t)},"ev":${str(event.ev)},"msg":${str(event.msg)},"from":${str(event.from)},"to":${str(event.to)}`;
  line += `,"type":${str(event.type)},"digest":${str(envelopeDigest(e))},"cause":${event.cause === null ? 'null' : str(event.cause)}`;
  if (e.inReplyTo !== undefined) line += `,"re":${str(e.inReplyTo)}`;
  if (e.duplicate) line += ',"copy":1';
  if (event.ev === 'sent' || event.ev === 'duplicated') line += `,"deliverAt":${num(event.deliverAt)}`;
  if (event.ev === 'duplicated') line += `,"after":${num(event.after)}`;
  if (event.ev === 'sent' && e.bytes !== undefined) line += `,"bytes":${num(e.bytes)}`;
  if (event.ev === 'dropped') line += `,"reason":${str(event.reason)}`;
  if (event.ev === 'dropped' && event.goneHost !== undefined) line += `,"goneHost":${str(event.goneHost)}`;
  if (event.ev === 'delayed') line += `,"by":${num(event.by)}`;
  return line + '}';
}

/** The canonical line of one event (no trailing newline). */
export function eventLine(event: SimEvent): string {
  const head = { seq: event.seq, t: event.t, ev: event.ev };
  switch (event.ev) {
    case 'sent':
    case 'delivered':
    case 'dropped':
    case 'duplicated':
    case 'delayed':
    case 'reordered':
      return messageEventLine(event);
    case 'error':
      return JSON.stringify({ ...head, actor: event.actor, msg: event.msg, error: event.error, message: event.message });
    case 'crashed':
      return JSON.stringify({ ...head, actor: event.actor, reason: event.reason });
    case 'restarted':
      return JSON.stringify(event.storageKept === false ? { ...head, actor: event.actor, stateKept: event.stateKept, storageKept: false } : { ...head, actor: event.actor, stateKept: event.stateKept });
    case 'spawned':
      return JSON.stringify({ ...head, actor: event.actor });
    case 'timer':
      return JSON.stringify({ ...head, actor: event.actor, timer: event.timer });
    case 'partition-start':
    case 'partition-end':
      return JSON.stringify({ ...head, groups: event.groups });
    case 'mark':
      return JSON.stringify(event.data === undefined ? { ...head, label: event.label } : { ...head, label: event.label, data: event.data });
  }
}

/** What an event row is (its KIND field). */
const OTHER = 0;
const SENT = 1;
const DELIVERED = 2;
/** The fields of an event row: kind, time, and the message's send seq (sent/delivered) or the index in `others`. */
const KIND = 0;
const TIME = 1;
const REF = 2;

/**
 * The in-memory log. `sent` and `delivered` — two events per message, the bulk of any
 * run — are kept as three numbers each (kind, time, the message's row in a
 * MessageTable), not as objects: a long run keeps millions of events, and every
 * object kept is work for the garbage collector. Other events are kept as they
 * are. Event objects are made when someone reads `events` (and kept, so the same
 * event is the same object on every read).
 */
export class EventLog {
  private readonly rows = new NumberRows(3);
  private readonly others: SimEvent[] = [];
  private readonly messages = new MessageTable();
  private readonly materialized: SimEvent[] = [];

  constructor(readonly header: LogHeader) {}

  get length(): number {
    return this.rows.length;
  }

  /** Appends an event (its seq must be the log's length). */
  append(event: SimEvent): void {
    // A fault-plan copy is a new envelope: it takes its row now, in send order, for its later delivery.
    if (event.ev === 'duplicated') this.messages.add(event.envelope as PostedEnvelope);
    this.addRow(OTHER, event.t, this.others.length);
    this.others.push(event);
  }

  /**
   * Takes in an envelope that arrived from another process (live runs): it was sent there,
   * so it gets its row here at arrival, for its delivered (or dropped) event.
   */
  adopt(envelope: PostedEnvelope): void {
    this.messages.add(envelope);
  }

  /** Appends a sent or delivered event without making an event object for it. */
  appendMessage(ev: 'sent' | 'delivered', t: number, envelope: PostedEnvelope): void {
    if (ev === 'sent') this.messages.add(envelope);
    this.addRow(ev === 'sent' ? SENT : DELIVERED, t, envelope.seq);
  }

  /** Every event so far, in seq order. */
  get events(): readonly SimEvent[] {
    const out = this.materialized;
    for (let seq = out.length; seq < this.length; seq++) {
      const kind = this.rows.get(seq, KIND);
      const ref = this.rows.get(seq, REF);
      if (kind === OTHER) out.push(this.others[ref]);
      else out.push(new MessageEventRecord(seq, this.rows.get(seq, TIME), kind === SENT ? 'sent' : 'delivered', this.messages.envelope(ref)) as unknown as SimEvent);
    }
    return out;
  }

  private addRow(kind: number, t: number, ref: number): void {
    const at = this.rows.addRow();
    const row = this.rows.chunk;
    row[at + KIND] = kind;
    row[at + TIME] = t;
    row[at + REF] = ref;
  }

  headerLine(): string {
    return JSON.stringify(this.header);
  }

  *lines(): Generator<string> {
    yield this.headerLine();
    for (const event of this.events) yield eventLine(event);
  }

  /** Event lines only (no header): what two runs are compared on. */
  eventLines(): string[] {
    return this.events.map(eventLine);
  }

  toJSONL(): string {
    let text = '';
    for (const line of this.lines()) text += line + '\n';
    return text;
  }

  /** sha256 of the whole JSONL text, header included. */
  sha256(): string {
    return sha256Hex(this.toJSONL());
  }

  writeFile(path: string): void {
    const writer = new LogFileWriter(path, this.header);
    for (const event of this.events) writer.write(event);
    writer.close();
  }
}

/** How many characters of log lines a LogFileWriter holds before writing them out. */
export const LOG_WRITE_CHUNK = 1 << 16;

/**
 * Streams a log to a file as the run goes. The header is written at once and the
 * events in chunks of at most LOG_WRITE_CHUNK characters, so a run that is killed
 * leaves a log that is complete up to its last chunk, and memory does not grow.
 *
 * A run can also be stopped in the middle of a step (the CLI breaks a long stretch
 * of steps on Ctrl-C, see src/cli/interrupt.ts): then no `finally` of the interrupted
 * code runs, and a write may have happened without the writer knowing. So every
 * chunk is written at an explicit file position, and the position and the buffer are
 * updated together after the write: a flush repeated after an interruption writes the
 * same bytes at the same place, never a second copy.
 */
export class LogFileWriter {
  private readonly fd: number;
  /** Lines not yet written. (V8 appends to a string as a rope: cheaper than an array of lines and a join.) */
  private pending = '';
  /** Bytes written so far: where the next chunk goes. */
  private position = 0;
  private closed = false;

  constructor(readonly path: string, header: LogHeader) {
    this.fd = openSync(path, 'w');
    this.pending = JSON.stringify(header) + '\n';
    this.flush();
  }

  /** Characters written or pending so far (bytes, for the ASCII of a log). */
  get size(): number {
    return this.position + this.pending.length;
  }

  write(event: SimEvent): void {
    this.pending += eventLine(event) + '\n';
    if (this.pending.length > LOG_WRITE_CHUNK) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0 || this.closed) return;
    const chunk = Buffer.from(this.pending, 'utf8');
    writeSync(this.fd, chunk, 0, chunk.length, this.position);
    // Together, with no call in between: an interruption cannot fall between these two.
    this.position += chunk.length;
    this.pending = '';
  }

  /** Writes what is pending and closes the file; calling it again does nothing. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    closeSync(this.fd);
  }
}
