/**
 * `fedsim diff a.jsonl b.jsonl`: where two runs part ways — the first event that
 * differs, with a few events of context on each side. Headers are compared too
 * (seed, strategy, faults, backend), since they usually explain the difference.
 *
 * Two logs are identical only when their headers are too: logs with the same events
 * under another seed (a run whose seed draws nothing, say) are different runs, and a
 * replay of each checks its own header. So header differences alone make exit 1, unless
 * `--ignore-header` asks to compare the events only (then they are listed, not counted).
 */
import { resolve } from 'node:path';
import { canonicalJson, type LogStream, openLogStream } from '../../runtime/index.js';
import { displayPath } from '../../scenario/index.js';
import { EXIT_FAILED, EXIT_OK } from '../cli-error.js';
import { bold, dim, fail, ok, red, green } from '../style.js';
import { scanLogArgument } from './replay.js';
import { terminalText } from '../terminal-text.js';

export interface DiffOptions {
  /** Events of context before and after the divergence (default 3). */
  context?: number;
  /** Compare the events only: header differences are shown but do not make the logs differ. */
  ignoreHeader?: boolean;
  /** Longest log line accepted (default 1 MiB), as fedsim replay --max-line-chars. */
  maxLineChars?: number;
}

/** The next `n` lines of a stream (fewer at its end). */
function take(stream: LogStream, n: number): string[] {
  const lines: string[] = [];
  while (lines.length < n) {
    const line = stream.nextLine();
    if (line === null) break;
    lines.push(line);
  }
  return lines;
}

/** Both logs are checked, then read side by side: memory stays bounded whatever their size. */
export function diffCommand(fileA: string, fileB: string, options: DiffOptions): number {
  const [nameA, nameB] = [terminalText(displayPath(resolve(fileA))), terminalText(displayPath(resolve(fileB)))];
  const a = scanLogArgument(fileA, options.maxLineChars);
  const b = scanLogArgument(fileB, options.maxLineChars);
  const out = process.stdout;
  const context = options.context ?? 3;

  const headerA = a.header as unknown as Record<string, unknown>;
  const headerB = b.header as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(headerA), ...Object.keys(headerB)])];
  const differing = keys.filter((k) => canonicalJson(headerA[k]) !== canonicalJson(headerB[k]));

  const streamA = openLogStream(fileA, { source: nameA, maxLineChars: options.maxLineChars });
  const streamB = openLogStream(fileB, { source: nameB, maxLineChars: options.maxLineChars });
  try {
    const before: string[] = [];
    let seq = 0;
    let lineA = streamA.nextLine();
    let lineB = streamB.nextLine();
    while (lineA !== null && lineA === lineB) {
      before.push(lineA);
      if (before.length > context) before.shift();
      seq++;
      lineA = streamA.nextLine();
      lineB = streamB.nextLine();
    }
    if (lineA === null && lineB === null) {
      if (differing.length === 0) {
        out.write(`${ok()} identical: ${a.events} events, same header\n`);
        return EXIT_OK;
      }
      if (options.ignoreHeader) {
        out.write(`${ok()} the events are identical: ${a.events} events ${dim(`(--ignore-header; the headers differ in: ${differing.join(', ')})`)}\n`);
        return EXIT_OK;
      }
      out.write(`${fail()} ${bold(`the headers differ in: ${differing.join(', ')}`)} (the ${a.events} events are identical; --ignore-header compares only the events)\n`);
      writeHeaderDifferences(out, differing, headerA, headerB);
      return EXIT_FAILED;
    }
    out.write(`${fail()} ${bold(`the runs diverge at seq ${seq}`)} (${nameA}: ${a.events} events, ${nameB}: ${b.events} events)\n`);
    if (differing.length) writeHeaderDifferences(out, differing, headerA, headerB);
    if (before.length) out.write(`common events before:\n`);
    before.forEach((line, i) => out.write(dim(`  ${String(seq - before.length + i).padStart(6)}  ${line}`) + '\n'));
    for (const [label, first, stream, colour] of [
      [nameA, lineA, streamA, red],
      [nameB, lineB, streamB, green],
    ] as const) {
      out.write(`${label}:\n`);
      if (first === null) {
        out.write(colour(`  ${String(seq).padStart(6)}  (the log ends here)`) + '\n');
        continue;
      }
      [first, ...take(stream, context)].forEach((line, i) => {
        const text = `  ${String(seq + i).padStart(6)}  ${line}`;
        out.write((i === 0 ? colour(text) : text) + '\n');
      });
    }
    return EXIT_FAILED;
  } finally {
    streamA.close();
    streamB.close();
  }
}

/** One line per differing header field, as JSON (control characters escaped). */
function writeHeaderDifferences(out: NodeJS.WriteStream, differing: string[], headerA: Record<string, unknown>, headerB: Record<string, unknown>): void {
  out.write('header differences:\n');
  for (const k of differing) out.write(`  ${terminalText(k)}: ${terminalText(JSON.stringify(headerA[k]) ?? '(absent)')}  vs  ${terminalText(JSON.stringify(headerB[k]) ?? '(absent)')}\n`);
}
