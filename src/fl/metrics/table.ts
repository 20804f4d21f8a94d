/**
 * Round metrics as a markdown table (for benchmarks and reports).
 */
import type { RoundMetrics } from './round-metrics.js';

const fixed = (v: number | undefined, digits: number) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits));

/** One row per round in `every` (default: all), plus always the last round. */
export function formatRoundsTable(rounds: readonly RoundMetrics[], options: { every?: number } = {}): string {
  const every = options.every ?? 1;
  const rows = rounds.filter((r, i) => r.round % every === 0 || r.round === 1 || i === rounds.length - 1);
  const header =
    '| round | local train loss | global train loss | test loss | test acc | client acc | participants | dropped | up (kB) | down (kB) | t (virtual s) |';
  const rule = '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const body = rows.map(
    (r) =>
      `| ${r.round} | ${fixed(r.trainLoss, 4)} | ${fixed(r.globalTrainLoss, 4)} | ${fixed(r.testLoss, 4)} | ${fixed(r.testAccuracy, 4)} | ${fixed(r.clientTestAccuracy, 4)} | ` +
      `${r.participants.length} | ${r.dropped.length} | ${(r.bytesUp / 1000).toFixed(1)} | ${(r.bytesDown / 1000).toFixed(1)} | ${(r.endedAt / 1000).toFixed(1)} |`,
  );
  return [header, rule, ...body].join('\n');
}
