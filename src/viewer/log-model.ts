/**
 * A run's event log as the viewer holds it: columns of numbers, not one object per
 * event, so a log of millions of events is read in one streamed pass and fits in a
 * few tens of bytes per event — in Node while the page is written, and in the page.
 *
 * Events: time, kind, a reference (the message of a message event, the actor of an
 * actor event) and, for the fields no column holds (a drop's reason, a delay, an
 * error text, a mark's data…), an index into `extras`. Messages: one row per message
 * (a fault-plan copy is a message of its own), with its ends, type, digest, cause,
 * bytes, and the seq of its `sent` and of its delivery or drop — what an arrow needs.
 * Every recorded line can be rebuilt from these, byte for byte (see recordedLine).
 */
import { type LogHeader } from '../runtime/index.js';
import { LogFormatError, LogLineReader } from '../runtime/replay/log-lines.js';
import { parseEventLine, parseHeaderLine, type RecordedEvent } from '../runtime/replay/recorded-log.js';

export const EVENT_KINDS = [
  'sent',
  'delivered',
  'dropped',
  'duplicated',
  'delayed',
  'reordered',
  'error',
  'crashed',
  'restarted',
  'spawned',
  'timer',
  'partition-start',
  'partition-end',
  'mark',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
/** The first six kinds are about one message. */
export const MESSAGE_KIND_COUNT = 6;
const ACTOR_KINDS = new Set<string>(['error', 'crashed', 'restarted', 'spawned', 'timer']);
const KIND_INDEX = new Map<string, number>(EVENT_KINDS.map((k, i) => [k, i]));
/** Fields of a message event that the message's row holds; any other field goes to extras. */
const MESSAGE_FIELDS = new Set(['seq', 't', 'ev', 'msg', 'from', 'to', 'type', 'digest', 'cause', 're', 'copy', 'deliverAt', 'bytes']);
/** The id under which scenario code sends (the driver's lane comes first). */
export const DRIVER_ID = 'me';

export interface EventColumns {
  t: Float64Array;
  kind: Uint8Array;
  /** Message index (message events), actor index (actor events), else −1. */
  ref: Int32Array;
  /** Index into extras, or −1. */
  extra: Int32Array;
}

export interface MessageColumns {
  /** Indexes into strings (id, digest, cause, re: −1 when absent). */
  id: Int32Array;
  digest: Int32Array;
  cause: Int32Array;
  re: Int32Array;
  /** Indexes into actors / types. */
  from: Int32Array;
  to: Int32Array;
  type: Int32Array;
  copy: Uint8Array;
  /** Seq of its `sent` (or, for a copy, `duplicated`) event, −1 if the log has none. */
  sent: Int32Array;
  /** Seq of its delivery or drop, −1 while still in flight at the log's end. */
  end: Int32Array;
  deliverAt: Float64Array;
  /** NaN when the log gives no size. */
  bytes: Float64Array;
}

export interface ViewerModel {
  source: string;
  header: LogHeader;
  /** The header line as recorded. */
  headerLine: string;
  events: number;
  messages: number;
  actors: string[];
  types: string[];
  strings: string[];
  extras: unknown[];
  ev: EventColumns;
  msg: MessageColumns;
}

/** Interns strings: the same string is the same index, in order of first use. */
class StringTable {
  readonly list: string[] = [];
  private readonly index = new Map<string, number>();
  add(text: string): number {
    let i = this.index.get(text);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(text);
      this.index.set(text, i);
    }
    return i;
  }
}

/** A growable column; `done()` gives the typed array. */
class Column<A extends Float64Array | Int32Array | Uint8Array> {
  private data: A;
  length = 0;
  constructor(private readonly make: (n: number) => A) {
    this.data = make(1024);
  }
  push(value: number): number {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length] = value;
    return this.length++;
  }
  set(i: number, value: number): void {
    this.data[i] = value;
  }
  get(i: number): number {
    return this.data[i];
  }
  done(): A {
    return this.data.slice(0, this.length) as A;
  }
}

const f64 = () => new Column((n) => new Float64Array(n));
const i32 = () => new Column((n) => new Int32Array(n));
const u8 = () => new Column((n) => new Uint8Array(n));

export interface ReadModelOptions {
  /** How the log is named in errors (default: its path). */
  source?: string;
  maxLineChars?: number;
}

/**
 * Reads a log file in one streamed pass (bounded lines; the file is never held whole),
 * checking each line as `fedsim replay` does: a broken line is a LogFormatError naming
 * its line number.
 */
export function readViewerModel(path: string, options: ReadModelOptions = {}): ViewerModel {
  const source = options.source ?? path;
  const reader = new LogLineReader(path, source, options.maxLineChars);
  try {
    const first = reader.next();
    if (first === null) throw new LogFormatError(`${source} is empty: a fedsim log starts with a header line.`);
    const header = parseHeaderLine(first, source);
    const builder = new ModelBuilder(source);
    let lastT = 0;
    for (let line = reader.next(); line !== null; line = reader.next()) {
      const event = parseEventLine(line, reader.lineNumber, lastT, source);
      lastT = event.t;
      builder.add(event, reader.lineNumber);
    }
    return builder.finish(header, first);
  } finally {
    reader.close();
  }
}

class ModelBuilder {
  private readonly strings = new StringTable();
  private readonly actors = new StringTable();
  private readonly types = new StringTable();
  private readonly extras: unknown[] = [];
  private readonly t = f64();
  private readonly kind = u8();
  private readonly ref = i32();
  private readonly extra = i32();
  private readonly m = {
    id: i32(),
    digest: i32(),
    cause: i32(),
    re: i32(),
    from: i32(),
    to: i32(),
    type: i32(),
    copy: u8(),
    sent: i32(),
    end: i32(),
    deliverAt: f64(),
    bytes: f64(),
  };
  /** The message row of each (id, copy) still to be delivered or dropped: the latest one sent. */
  private readonly open = new Map<string, number>();

  constructor(private readonly source: string) {}

  add(event: RecordedEvent, lineNumber: number): void {
    const kind = KIND_INDEX.get(event.ev);
    if (kind === undefined) {
      throw new LogFormatError(`${this.source}, line ${lineNumber}: unknown event kind ${JSON.stringify(event.ev)} (expected one of ${EVENT_KINDS.join(', ')}); the log is corrupt or was written by another fedsim.`);
    }
    const seq = this.t.push(event.t);
    this.kind.push(kind);
    if (kind < MESSAGE_KIND_COUNT) {
      this.ref.push(this.message(event, seq, lineNumber));
      this.extra.push(this.extraOf(event, (key) => !MESSAGE_FIELDS.has(key)));
      return;
    }
    if (ACTOR_KINDS.has(event.ev) && typeof event.actor === 'string') this.ref.push(this.actors.add(event.actor));
    else this.ref.push(-1);
    this.extra.push(this.extraOf(event, (key) => key !== 'seq' && key !== 't' && key !== 'ev'));
  }

  /** The fields kept as a JSON object (in their recorded order), or −1 when there are none. */
  private extraOf(event: RecordedEvent, keep: (key: string) => boolean): number {
    const keys = Object.keys(event).filter(keep);
    if (keys.length === 0) return -1;
    const object: Record<string, unknown> = {};
    for (const key of keys) object[key] = event[key];
    this.extras.push(object);
    return this.extras.length - 1;
  }

  private message(event: RecordedEvent, seq: number, lineNumber: number): number {
    for (const field of ['msg', 'from', 'to', 'type', 'digest'] as const) {
      if (typeof event[field] !== 'string') {
        throw new LogFormatError(`${this.source}, line ${lineNumber}: a '${event.ev}' event without a string "${field}" (found ${JSON.stringify(event[field])}); the log is corrupt or was edited.`);
      }
    }
    const key = event.copy === 1 ? `${event.msg}\u0000copy` : event.msg!;
    const starts = event.ev === 'sent' || event.ev === 'duplicated';
    let row = this.open.get(key);
    if (row === undefined || starts) {
      row = this.newMessage(event);
      this.open.set(key, row);
    }
    if (starts) {
      this.m.sent.set(row, seq);
      if (typeof event.deliverAt === 'number') this.m.deliverAt.set(row, event.deliverAt);
      if (typeof event.bytes === 'number') this.m.bytes.set(row, event.bytes);
    }
    if (event.ev === 'delivered' || event.ev === 'dropped') {
      if (this.m.end.get(row) < 0) this.m.end.set(row, seq);
    }
    return row;
  }

  private newMessage(event: RecordedEvent): number {
    const m = this.m;
    const row = m.id.push(this.strings.add(event.msg!));
    m.digest.push(this.strings.add(event.digest!));
    m.cause.push(typeof event.cause === 'string' ? this.strings.add(event.cause) : -1);
    m.re.push(typeof event.re === 'string' ? this.strings.add(event.re) : -1);
    m.from.push(this.actors.add(event.from!));
    m.to.push(this.actors.add(event.to!));
    m.type.push(this.types.add(event.type!));
    m.copy.push(event.copy === 1 ? 1 : 0);
    m.sent.push(-1);
    m.end.push(-1);
    m.deliverAt.push(NaN);
    m.bytes.push(NaN);
    return row;
  }

  finish(header: LogHeader, headerLine: string): ViewerModel {
    const m = this.m;
    // Lanes: the driver first, the others in order of appearance; actor indexes are remapped to that order.
    const seen = this.actors.list;
    const order = seen.includes(DRIVER_ID) ? [DRIVER_ID, ...seen.filter((a) => a !== DRIVER_ID)] : [...seen];
    const remap = new Int32Array(seen.length);
    seen.forEach((a, i) => (remap[i] = order.indexOf(a)));
    const ev = { t: this.t.done(), kind: this.kind.done(), ref: this.ref.done(), extra: this.extra.done() };
    for (let seq = 0; seq < ev.ref.length; seq++) if (ev.kind[seq] >= MESSAGE_KIND_COUNT && ev.ref[seq] >= 0) ev.ref[seq] = remap[ev.ref[seq]];
    const from = m.from.done().map((a) => remap[a]);
    const to = m.to.done().map((a) => remap[a]);
    return {
      source: this.source,
      header,
      headerLine,
      events: ev.t.length,
      messages: m.id.length,
      actors: order,
      types: this.types.list,
      strings: this.strings.list,
      extras: this.extras,
      ev,
      msg: {
        id: m.id.done(),
        digest: m.digest.done(),
        cause: m.cause.done(),
        re: m.re.done(),
        from,
        to,
        type: m.type.done(),
        copy: m.copy.done(),
        sent: m.sent.done(),
        end: m.end.done(),
        deliverAt: m.deliverAt.done(),
        bytes: m.bytes.done(),
      },
    };
  }
}
