/**
 * `fedsim diff a.jsonl b.jsonl`: where two runs part ways — the first event that
 * differs, with a few events of context on each side. Headers are compared too
 * (seed, strategy, faults, backend), since they usually explain the difference.
 */
import { resolve } from 'node:path';
import { canonicalJson, firstDivergence } from '../../runtime/index.js';
import { displayPath } from '../../scenario/index.js';
import { EXIT_FAILED, EXIT_OK } from '../cli-error.js';
import { bold, dim, fail, ok, red, green } from '../style.js';
import { readLogArgument } from './replay.js';

export interface DiffOptions {
  /** Events of context before and after the divergence (default 3). */
  context?: number;
}

export function diffCommand(fileA: string, fileB: string, options: DiffOptions): number {
  const a = readLogArgument(fileA);
  const b = readLogArgument(fileB);
  const [nameA, nameB] = [displayPath(resolve(fileA)), displayPath(resolve(fileB))];
  const out = process.stdout;
  const context = options.context ?? 3;

  const headerA = a.header as unknown as Record<string, unknown>;
  const headerB = b.header as unknown as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(headerA), ...Object.keys(headerB)])];
  const differing = keys.filter((k) => canonicalJson(headerA[k]) !== canonicalJson(headerB[k]));

  const divergence = firstDivergence(a.lines, b.lines, context);
  if (!divergence) {
    out.write(`${ok()} identical: ${a.lines.length} events\n`);
    if (differing.length) out.write(dim(`  (headers differ in: ${differing.join(', ')})`) + '\n');
    return EXIT_OK;
  }
  out.write(`${fail()} ${bold(`the runs diverge at seq ${divergence.seq}`)} (${nameA}: ${a.lines.length} events, ${nameB}: ${b.lines.length} events)\n`);
  if (differing.length) {
    out.write('header differences:\n');
    for (const k of differing) out.write(`  ${k}: ${JSON.stringify(headerA[k]) ?? '(absent)'}  vs  ${JSON.stringify(headerB[k]) ?? '(absent)'}\n`);
  }
  const start = Math.max(0, divergence.seq - context);
  if (start < divergence.seq) out.write(`common events before:\n`);
  for (let seq = start; seq < divergence.seq; seq++) out.write(dim(`  ${String(seq).padStart(6)}  ${a.lines[seq]}`) + '\n');
  for (const [label, log, colour] of [
    [nameA, a, red],
    [nameB, b, green],
  ] as const) {
    out.write(`${label}:\n`);
    const end = Math.min(log.lines.length, divergence.seq + context + 1);
    if (divergence.seq >= log.lines.length) out.write(colour(`  ${String(divergence.seq).padStart(6)}  (the log ends here)`) + '\n');
    for (let seq = divergence.seq; seq < end; seq++) {
      const line = `  ${String(seq).padStart(6)}  ${log.lines[seq]}`;
      out.write((seq === divergence.seq ? colour(line) : line) + '\n');
    }
  }
  return EXIT_FAILED;
}
