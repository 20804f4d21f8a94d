/**
 * Wall-clock timing for benchmarks (never used by simulation code or tests).
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface Measurement {
  name: string;
  /** Operations per second (median of the repetitions). */
  perSecond: number;
  /** Every repetition's rate, for spread. */
  samples: number[];
}

/**
 * Runs `fn` (which performs `ops` operations) `repeats` times after a warm-up and
 * reports the median rate, so one slow repetition (GC, the other core busy) does not
 * decide the figure.
 */
export function measure(name: string, ops: number, fn: () => void, repeats = 5): Measurement {
  fn(); // warm-up: JIT, caches
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    fn();
    const seconds = (performance.now() - start) / 1000;
    samples.push(ops / seconds);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { name, perSecond: sorted[Math.floor(sorted.length / 2)], samples };
}

export async function measureAsync(name: string, ops: number, fn: () => Promise<void>, repeats = 5): Promise<Measurement> {
  await fn();
  const samples: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    await fn();
    const seconds = (performance.now() - start) / 1000;
    samples.push(ops / seconds);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { name, perSecond: sorted[Math.floor(sorted.length / 2)], samples };
}

export const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(1));

export function table(rows: Array<Record<string, string | number>>): string {
  const keys = Object.keys(rows[0]);
  const width = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(width[i])).join(' | ') + ' |';
  return [line(keys), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(keys.map((k) => String(r[k]))))].join('\n');
}

/**
 * Forces full garbage collections (benchmarks only: exposes V8's gc without a
 * command-line flag), and gives V8 a moment to release freed typed-array memory,
 * which it does off the main thread.
 */
export async function collectGarbage(): Promise<void> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  await new Promise((resolve) => setTimeout(resolve, 200));
  gc();
}
