/**
 * Reading a recorded log back: the header is validated (its fault plan and strategy
 * too), every line parsed, and the basic invariants checked (contiguous seq,
 * non-decreasing virtual time, `\n` line ends, no blank or oversized lines), so a
 * truncated, converted or hand-edited file is reported at the line where it breaks.
 *
 * Two ways in: `parseLog`/`readLog` hold the whole log in memory (schedule replay and
 * tests need random access); `scanLog` + `openLogStream` check and then stream a file
 * in bounded memory (what `fedsim replay` does, whatever the log's size).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { LOG_FORMAT, type LogHeader } from '../event-log.js';
import { FaultPlanSchema } from '../faults/fault-plan.js';
import { StrategySpecSchema } from '../scheduling/strategy.js';
import { LogFormatError, LogLineReader, MAX_LOG_LINE_CHARS, checkLineShape } from './log-lines.js';

export { LogFormatError, MAX_LOG_LINE_CHARS } from './log-lines.js';

export interface RecordedEvent {
  seq: number;
  t: number;
  ev: string;
  msg?: string;
  from?: string;
  to?: string;
  type?: string;
  digest?: string;
  cause?: string | null;
  re?: string;
  copy?: number;
  deliverAt?: number;
  reason?: string;
  by?: number;
  actor?: string;
  [key: string]: unknown;
}

export interface RecordedLog {
  source: string;
  header: LogHeader;
  /** Event lines exactly as recorded (no header). */
  lines: string[];
  events: RecordedEvent[];
}

export interface LogReadOptions {
  /** Longest line accepted (default MAX_LOG_LINE_CHARS, 1 MiB). */
  maxLineChars?: number;
}

const HeaderSchema = z.object({
  kind: z.literal('fedsim-log'),
  format: z.number().int(),
  fedsim: z.string(),
  seed: z.union([z.number(), z.string()]),
  strategy: StrategySpecSchema,
  faults: FaultPlanSchema,
  backend: z.string(),
  latency: z.union([z.number().min(0), z.literal('custom')]),
  scenario: z.record(z.string(), z.unknown()).optional(),
  mode: z.string().optional(),
  policies: z.record(z.string(), z.unknown()).optional(),
});

const HEADER_HINTS: Record<string, string> = {
  faults: 'a fault plan (drop, duplicate, reorder, delay, links, script, crashes, partitions)',
  strategy: "a scheduling strategy: 'fifo-random', 'random' or { name: 'pct', depth, maxSteps }",
  latency: 'link latency in virtual ms (≥ 0) or "custom"',
};

/** Parses and validates line 1 of a log. */
export function parseHeaderLine(line: string, source: string): LogHeader {
  let header: unknown;
  try {
    header = JSON.parse(line);
  } catch {
    throw new LogFormatError(`${source}, line 1: the header is not JSON. Is this a fedsim log (written by --record or sim.log.writeFile)?`);
  }
  const parsed = HeaderSchema.safeParse(header);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.map(String).join('.') || 'top level';
    const hint = HEADER_HINTS[String(issue.path[0])];
    throw new LogFormatError(
      `${source}, line 1: not a valid fedsim log header: at ${field}: ${issue.message}${hint ? ` (expected ${hint})` : ''}. ` +
        'The header was edited or the file is not a fedsim log; re-record the run with `fedsim run`.',
    );
  }
  if (parsed.data.format !== LOG_FORMAT) {
    throw new LogFormatError(`${source} has log format ${parsed.data.format}; this fedsim reads format ${LOG_FORMAT}. Re-record it with this version.`);
  }
  // Keep the header as written (zod's defaults would add fields the log never had).
  return header as LogHeader;
}

/** Parses event line `lineNumber` (1-based; event seq = lineNumber − 2) and checks its seq and time. */
export function parseEventLine(line: string, lineNumber: number, lastT: number, source: string): RecordedEvent {
  let event: RecordedEvent;
  try {
    event = JSON.parse(line);
  } catch {
    throw new LogFormatError(`${source}, line ${lineNumber}: not valid JSON (the log is corrupt or was edited).`);
  }
  const seq = lineNumber - 2;
  if (event === null || typeof event !== 'object') throw new LogFormatError(`${source}, line ${lineNumber}: not an event object (the log is corrupt or was edited).`);
  if (event.seq !== seq) throw new LogFormatError(`${source}, line ${lineNumber}: seq ${event.seq} where ${seq} was expected (events are missing or reordered).`);
  if (!(event.t >= lastT)) throw new LogFormatError(`${source}, line ${lineNumber}: virtual time ${event.t} goes backwards (previous ${lastT}).`);
  return event;
}

export function parseLog(text: string, source = 'log', options: LogReadOptions = {}): RecordedLog {
  const maxLineChars = options.maxLineChars ?? MAX_LOG_LINE_CHARS;
  const raw = text.split('\n');
  if (raw.length && raw[raw.length - 1] === '') raw.pop();
  if (raw.length === 0) throw new LogFormatError(`${source} is empty: a fedsim log starts with a header line.`);
  const atEnd = (i: number) => () => raw.slice(i + 1).every((l) => l === '');
  raw.forEach((line, i) => checkLineShape(line, i + 1, source, maxLineChars, atEnd(i)));
  const header = parseHeaderLine(raw[0], source);
  const lines = raw.slice(1);
  const events: RecordedEvent[] = [];
  let lastT = 0;
  lines.forEach((line, i) => {
    const event = parseEventLine(line, i + 2, lastT, source);
    lastT = event.t;
    events.push(event);
  });
  return { source, header, lines, events };
}

export function readLog(path: string, options: LogReadOptions = {}): RecordedLog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new LogFormatError(`Cannot read log ${path}: ${(error as Error).message}`);
  }
  return parseLog(text, path, options);
}

/** What a full check of a log file found: its header and how many events follow it. */
export interface LogSummary {
  source: string;
  header: LogHeader;
  events: number;
}

/** Checks a whole log file line by line, in bounded memory; throws LogFormatError at the first broken line. */
export function scanLog(path: string, options: LogReadOptions & { source?: string } = {}): LogSummary {
  const source = options.source ?? path;
  const reader = new LogLineReader(path, source, options.maxLineChars);
  try {
    const first = reader.next();
    if (first === null) throw new LogFormatError(`${source} is empty: a fedsim log starts with a header line.`);
    const header = parseHeaderLine(first, source);
    let lastT = 0;
    let events = 0;
    for (let line = reader.next(); line !== null; line = reader.next()) {
      lastT = parseEventLine(line, reader.lineNumber, lastT, source).t;
      events++;
    }
    return { source, header, events };
  } finally {
    reader.close();
  }
}

/** A log read forward one event line at a time: what re-execution checks against (see LogVerifier). */
export interface LogStream {
  readonly source: string;
  readonly header: LogHeader;
  /** The next event line exactly as recorded, or null after the last. */
  nextLine(): string | null;
  close(): void;
}

/** Streams a log file's event lines (after its header); check it first with scanLog for errors before the run. */
export function openLogStream(path: string, options: LogReadOptions & { source?: string } = {}): LogStream {
  const source = options.source ?? path;
  const reader = new LogLineReader(path, source, options.maxLineChars);
  const first = reader.next();
  if (first === null) {
    reader.close();
    throw new LogFormatError(`${source} is empty: a fedsim log starts with a header line.`);
  }
  const header = parseHeaderLine(first, source);
  return { source, header, nextLine: () => reader.next(), close: () => reader.close() };
}

/** An in-memory log as a stream. */
export function streamOf(log: RecordedLog): LogStream {
  let next = 0;
  return { source: log.source, header: log.header, nextLine: () => log.lines[next++] ?? null, close: () => {} };
}

/** The event line at `seq` of a log file (streamed up to it), or undefined past the end. */
export function readEventLine(path: string, seq: number, options: LogReadOptions = {}): string | undefined {
  const stream = openLogStream(path, options);
  try {
    for (let i = 0; ; i++) {
      const line = stream.nextLine();
      if (line === null) return undefined;
      if (i === seq) return line;
    }
  } finally {
    stream.close();
  }
}
