/**
 * Reading a recorded log back: the header is validated, every line parsed, and
 * the basic invariants checked (contiguous seq, non-decreasing virtual time), so a
 * truncated or hand-edited file is reported at the line where it breaks.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FedsimError } from '../errors.js';
import { LOG_FORMAT, type LogHeader } from '../event-log.js';

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

export class LogFormatError extends FedsimError {
  override name = 'LogFormatError';
}

const HeaderSchema = z.object({
  kind: z.literal('fedsim-log'),
  format: z.number().int(),
  fedsim: z.string(),
  seed: z.union([z.number(), z.string()]),
  strategy: z.unknown(),
  faults: z.record(z.string(), z.unknown()),
  backend: z.string(),
  latency: z.union([z.number(), z.literal('custom')]),
  scenario: z.record(z.string(), z.unknown()).optional(),
  mode: z.string().optional(),
  policies: z.record(z.string(), z.unknown()).optional(),
});

export function parseLog(text: string, source = 'log'): RecordedLog {
  const raw = text.split('\n');
  if (raw.length && raw[raw.length - 1] === '') raw.pop();
  if (raw.length === 0) throw new LogFormatError(`${source} is empty: a fedsim log starts with a header line.`);
  let header: unknown;
  try {
    header = JSON.parse(raw[0]);
  } catch {
    throw new LogFormatError(`${source}, line 1: the header is not JSON. Is this a fedsim log (written by --record or sim.log.writeFile)?`);
  }
  const parsed = HeaderSchema.safeParse(header);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LogFormatError(`${source}, line 1: not a fedsim log header (at ${issue.path.join('.') || 'top level'}: ${issue.message}).`);
  }
  if (parsed.data.format !== LOG_FORMAT) {
    throw new LogFormatError(`${source} has log format ${parsed.data.format}; this fedsim reads format ${LOG_FORMAT}. Re-record it with this version.`);
  }
  const lines = raw.slice(1);
  const events: RecordedEvent[] = [];
  let lastT = 0;
  lines.forEach((line, i) => {
    let event: RecordedEvent;
    try {
      event = JSON.parse(line);
    } catch {
      throw new LogFormatError(`${source}, line ${i + 2}: not valid JSON (the log is corrupt or was edited).`);
    }
    if (event.seq !== i) throw new LogFormatError(`${source}, line ${i + 2}: seq ${event.seq} where ${i} was expected (events are missing or reordered).`);
    if (!(event.t >= lastT)) throw new LogFormatError(`${source}, line ${i + 2}: virtual time ${event.t} goes backwards (previous ${lastT}).`);
    lastT = event.t;
    events.push(event);
  });
  return { source, header: parsed.data as LogHeader, lines, events };
}

export function readLog(path: string): RecordedLog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new LogFormatError(`Cannot read log ${path}: ${(error as Error).message}`);
  }
  return parseLog(text, path);
}
