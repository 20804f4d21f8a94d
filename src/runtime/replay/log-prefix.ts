/**
 * The log a checkpoint vouches for, and the check that a resumed run re-creates it.
 *
 * `fedsim resume` keeps nothing of the stopped run but its log up to the checkpoint (see
 * docs/checkpoint-resume.md: the state of rounds 1..k is rebuilt by re-executing them from
 * the seed). So before anything runs, the stopped run's log must still hold, byte for byte,
 * the prefix the checkpoint hashed; and while the resumed run re-executes that prefix, each
 * event it records must be the recorded line of the same seq — the first difference halts
 * it (a DivergenceError naming both lines), so a resume never continues a different run.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DivergenceError } from './divergence.js';
import { eventLine } from '../event-log.js';
import { LogLineReader } from './log-lines.js';
import type { SimulationCore } from '../simulation.js';
import { FedsimError } from '../errors.js';

/** What a checkpoint says of the log it was taken on (src/fl/checkpoint/checkpoint-file.ts): the round, the events so far, and the log's first `bytes` and their sha256. */
export interface LogPrefixMark {
  round: number;
  events: number;
  log: { bytes: number; sha256: string };
}

export class LogPrefixError extends FedsimError {
  override name = 'LogPrefixError';
}

const READ_CHUNK = 1 << 20;

/**
 * Checks that the log at `path` still begins with the bytes `checkpoint` hashed (read in
 * chunks: a log may be larger than memory) and that they end at a line's end.
 */
export function checkLogPrefix(path: string, checkpoint: LogPrefixMark): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new LogPrefixError(`cannot read the run's log ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    const size = fstatSync(fd).size;
    const { bytes, sha256 } = checkpoint.log;
    if (size < bytes) throw new LogPrefixError(`the log holds ${size} bytes, fewer than the ${bytes} the checkpoint of round ${checkpoint.round} covers (it was cut short)`);
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    let last = -1;
    let lines = 0;
    for (let at = 0; at < bytes; ) {
      const n = readSync(fd, buffer, 0, Math.min(READ_CHUNK, bytes - at), at);
      if (n === 0) throw new LogPrefixError(`the log ended after ${at} bytes while it was read`);
      const chunk = buffer.subarray(0, n);
      hash.update(chunk);
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
      last = buffer[n - 1];
      at += n;
    }
    const actual = hash.digest('hex');
    if (actual !== sha256) throw new LogPrefixError(`its first ${bytes} bytes hash to ${actual.slice(0, 12)}…, not to the checkpoint's ${sha256.slice(0, 12)}… (the log was replaced or edited after the checkpoint)`);
    if (last !== 0x0a) throw new LogPrefixError(`the checkpoint's ${bytes} bytes end inside a line of the log`);
    if (lines !== checkpoint.events + 1) throw new LogPrefixError(`its first ${bytes} bytes hold ${lines - 1} events, not the ${checkpoint.events} the checkpoint names`);
  } finally {
    closeSync(fd);
  }
}

/** The recorded prefix, read line by line as the resumed run goes (bounded memory). */
export interface LogPrefix {
  /** The header line, as written. */
  header: string;
  /** Events in the prefix. */
  events: number;
  /** The next event line (null past the file's end). */
  nextLine(): string | null;
  close(): void;
}

/** Opens the prefix `checkpoint` names (check it first with checkLogPrefix). */
export function openLogPrefix(path: string, checkpoint: LogPrefixMark, source = path): LogPrefix {
  const reader = new LogLineReader(path, source);
  const header = reader.next();
  if (header === null) {
    reader.close();
    throw new LogPrefixError(`${source} is empty: a fedsim log starts with a header line`);
  }
  let read = 0;
  return {
    header,
    events: checkpoint.events,
    nextLine: () => (read < checkpoint.events ? (read++, reader.next()) : null),
    close: () => reader.close(),
  };
}

export class ResumeHeaderError extends FedsimError {
  override name = 'ResumeHeaderError';
}

/**
 * Checks each event of `sim` against `lines` (the prefix: header, then events) until the
 * prefix is exhausted, then calls `onVerified` once and stops checking. Throws at once
 * when the run's header differs.
 */
export function verifyLogPrefix(sim: SimulationCore, prefix: LogPrefix, onVerified: () => void): { readonly verified: boolean; stop(): void } {
  const header = JSON.stringify(sim.log.header);
  if (header !== prefix.header) {
    throw new ResumeHeaderError(`the resumed run's log header differs from the recorded one:\n  recorded: ${prefix.header}\n  resumed:  ${header}`);
  }
  const events = prefix.events;
  const recent: string[] = [];
  let state: 'checking' | 'verified' | 'diverged' = 'checking';
  const finish = () => {
    state = 'verified';
    subscription?.unsubscribe();
    prefix.close();
    onVerified();
  };
  const subscription = events === 0 ? undefined : sim.events$.subscribe((event) => {
    if (state !== 'checking') return;
    const actual = eventLine(event);
    const expected = prefix.nextLine();
    if (actual !== expected) {
      state = 'diverged';
      subscription?.unsubscribe();
      prefix.close();
      sim.halt(new DivergenceError({ seq: event.seq, expected, actual, context: [...recent] }, 'The resumed run differs from the checkpointed log'));
      return;
    }
    if (recent.length === 3) recent.shift();
    recent.push(expected);
    if (event.seq + 1 === events) finish();
  });
  if (events === 0) finish();
  return {
    get verified() {
      return state === 'verified';
    },
    stop: () => {
      subscription?.unsubscribe();
      prefix.close();
    },
  };
}
