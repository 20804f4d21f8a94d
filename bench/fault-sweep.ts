/**
 * The round engine's fault sweep (issue #13): for every aggregation mode, hundreds of random
 * fault plans (duplicates, drops, reorders, delays, partitions, crashes of clients, the
 * server and the mode's helper), each judged round by round by the offline oracle of
 * test/helpers/round-oracle.ts: committed with exactly the model its inputs give, skipped
 * with a reason, or CORRUPTED. The tally goes to RELIABILITY.md.
 *
 *   npm run bench -- fault-sweep                 (200 plans per mode)
 *   npx tsx bench/fault-sweep.ts --plans 500     (more)
 *
 * The plans come from fast-check's generator with a fixed seed, so the sweep is the same
 * on every run; the suite runs a small subset of it (test/fl-round-properties.test.ts).
 */
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { initBackend } from '../src/runtime/backend.js';
import { createStrategy } from '../src/fl/strategies/create.js';
import { clientIdsOf, MODES, type Mode, runWorld, spec, tinyClients, tinyOptions } from '../test/helpers/fl-world.js';
import { faultPlanArbitrary } from '../test/helpers/fault-plans.js';
import { bugErrors, judgeRounds } from '../test/helpers/round-oracle.js';
import { table } from './timing.js';

const HELPERS: Record<Mode, string[]> = { plain: [], 'secure-worker': ['secure_worker'], additive: [], 'secagg+': ['secagg_server'] };

interface ModeTally {
  plans: number;
  runsFailed: number;
  committed: number;
  skipped: number;
  corrupted: number;
  /** Handler errors that are bugs (a JS error or broken invariant in some actor's turn). */
  bugs: number;
  /** Rounds whose participants were fewer than the clients selected (a client lost to a fault). */
  partial: number;
  skipReasons: Map<string, number>;
  failures: string[];
  seconds: number;
}

/** The first words of a skip reason, for grouping. */
const reasonKind = (reason: string) => reason.replace(/\[[^\]]*\]/g, '[…]').replace(/\d+(\.\d+)?/g, 'N').slice(0, 140);

export async function sweep(plansPerMode: number): Promise<Record<Mode, ModeTally>> {
  await initBackend('cpu');
  const clients = tinyClients();
  const ids = clientIdsOf(clients);
  const maxWeight = Math.max(...clients.map((c) => c.y.length));
  const out = {} as Record<Mode, ModeTally>;
  for (const mode of MODES) {
    const options = tinyOptions(mode, clients);
    const plans = fc.sample(fc.tuple(fc.integer({ min: 1, max: 1_000_000 }), faultPlanArbitrary({ clients: ids, services: ['server', ...HELPERS[mode]], deadlineMs: options.roundDeadlineMs! })), {
      numRuns: plansPerMode,
      seed: 2026,
    });
    const tally: ModeTally = { plans: plans.length, runsFailed: 0, bugs: 0, committed: 0, skipped: 0, corrupted: 0, partial: 0, skipReasons: new Map(), failures: [], seconds: 0 };
    const started = performance.now();
    for (const [seed, faults] of plans) {
      const run = await runWorld(options, seed, faults);
      if (run.error || !run.result) {
        tally.runsFailed++;
        tally.failures.push(`seed ${seed}: ${(run.error as Error)?.message} — ${JSON.stringify(faults)}`);
        continue;
      }
      for (const bug of bugErrors(run.sim)) {
        tally.bugs++;
        tally.failures.push(`seed ${seed}: ${bug} — ${JSON.stringify(faults)}`);
      }
      const verdicts = judgeRounds({ mode, seed, spec, clients, clientIds: ids, strategy: createStrategy({ name: 'fedavg' }), secagg: { clippingRange: 8, quantizationRange: 4194304, maxWeight } }, run.sim, run.result);
      for (const v of verdicts) {
        tally[v.outcome]++;
        if (v.outcome === 'corrupted') tally.failures.push(`seed ${seed} round ${v.round}: ${v.problem} — ${JSON.stringify(faults)}`);
      }
      for (const r of run.result.rounds) {
        if (r.skipped) tally.skipReasons.set(reasonKind(r.skipped), (tally.skipReasons.get(reasonKind(r.skipped)) ?? 0) + 1);
        else if (r.participants.length < r.selected.length) tally.partial++;
      }
    }
    tally.seconds = (performance.now() - started) / 1000;
    out[mode] = tally;
  }
  return out;
}

export function report(result: Record<Mode, ModeTally>): string {
  const rows = MODES.map((mode) => {
    const t = result[mode];
    return {
      mode,
      'fault plans': t.plans,
      rounds: t.plans * 3,
      committed: t.committed,
      '…of which partial': t.partial,
      skipped: t.skipped,
      corrupted: t.corrupted,
      'runs failed': t.runsFailed,
      'bug errors': t.bugs,
      'wall s': t.seconds.toFixed(1),
    };
  });
  const lines = [table(rows), ''];
  for (const mode of MODES) {
    const reasons = [...result[mode].skipReasons].sort((a, b) => b[1] - a[1]);
    if (reasons.length > 0) lines.push(`Skipped under ${mode}:`, ...reasons.map(([r, n]) => `- ${n} × ${r}`), '');
  }
  const failures = MODES.flatMap((m) => result[m].failures.map((f) => `${m}: ${f}`));
  if (failures.length > 0) lines.push('Failures:', ...failures.map((f) => `- ${f}`));
  return lines.join('\n');
}

export const benchmark = {
  name: 'fault-sweep',
  title: 'Round engine under random fault plans (issue #13)',
  async run(): Promise<string> {
    const at = process.argv.indexOf('--plans');
    const plans = at >= 0 ? Number(process.argv[at + 1]) : 200;
    return report(await sweep(plans));
  },
};

if (process.argv[1]?.endsWith('fault-sweep.ts')) console.log(await benchmark.run());
