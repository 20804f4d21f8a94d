/**
 * Sync against async FL on one device population (issue #16): the four
 * scenarios/experiments/devices-*.yaml files share their devices — speeds, bandwidths,
 * latencies and a 3-day diurnal availability trace, all drawn from the same seed — and the
 * same data (Fashion-MNIST, 30 IID clients of 400 images, so a fit's time is its device's), and
 * differ only in how the server runs: synchronous rounds that wait for everyone,
 * synchronous rounds with over-selection (Bonawitz et al. 2019), FedBuff (Nguyen et al.
 * 2022) and FedAsync (Xie et al. 2019). The table gives the virtual hours (and client
 * updates) each needs to first reach a test accuracy, which is the shape of FedBuff's
 * headline comparison.
 *
 *   npm run bench -- async-vs-sync        (about 10 minutes: four whole runs; needs Debian's dataset-fashion-mnist)
 */
import { existsSync } from 'node:fs';
import type { FedAvgExperimentResult } from '../src/fl/experiments/fedavg-experiment.js';
import { initBackend } from '../src/runtime/backend.js';
import { runExperimentFile } from './experiment-file.js';
import { table } from './timing.js';

const FASHION = '/usr/share/datasets/fashion-mnist';
const RUNS = [
  { file: 'devices-sync.yaml', server: 'sync FedAvg, waits for all (2 h deadline)' },
  { file: 'devices-sync-overselect.yaml', server: 'sync FedAvg, over-selects 1.3×, keeps first K (30 min)' },
  { file: 'devices-fedbuff.yaml', server: 'FedBuff, 10 at once, K = 5' },
  { file: 'devices-fedasync.yaml', server: 'FedAsync, 10 at once, α = 0.6' },
];
const TARGETS = [0.7, 0.75, 0.8];

type Row = FedAvgExperimentResult['perRound'][number];

/** Virtual hours and client updates until the first row at or above `target`, or undefined. */
export function timeToAccuracy(rows: readonly Row[], target: number): { hours: number; updates: number } | undefined {
  let updates = 0;
  for (const row of rows) {
    updates += row.participants;
    if ((row.testAccuracy ?? -1) >= target) return { hours: row.virtualHours, updates };
  }
  return undefined;
}

const hoursText = (hit: { hours: number; updates: number } | undefined, rows: readonly Row[]) =>
  hit ? `${hit.hours.toFixed(2)} h (${hit.updates.toLocaleString('en-US')} updates)` : `not in ${(rows.at(-1)?.virtualHours ?? 0).toFixed(1)} h`;

export const benchmark = {
  name: 'async-vs-sync',
  title: 'Sync vs async FL on one device trace: virtual hours to a test accuracy (issue #16)',
  async run(): Promise<string> {
    if (!existsSync(FASHION)) return `Skipped: Fashion-MNIST is not installed at ${FASHION} (apt-get install dataset-fashion-mnist).`;
    await initBackend();
    const rows: Array<Record<string, string>> = [];
    for (const { file, server } of RUNS) {
      const { result, seconds } = await runExperimentFile(file, 'async-vs-sync');
      const perRound = result.perRound;
      const best = Math.max(...perRound.map((r) => r.testAccuracy ?? 0));
      const row: Record<string, string> = { server };
      for (const target of TARGETS) row[`≥ ${target * 100}%`] = hoursText(timeToAccuracy(perRound, target), perRound);
      const last = perRound.at(-1);
      row['at the end'] = `${(last?.testAccuracy ?? NaN).toFixed(3)} at ${(last?.virtualHours ?? 0).toFixed(1)} h (best ${best.toFixed(3)})`;
      row.wall = `${seconds.toFixed(0)} s`;
      rows.push(row);
    }
    return table(rows);
  },
};
