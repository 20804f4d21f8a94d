/**
 * Property: under ANY fault plan of duplicates, drops, reorders, delays, partitions and
 * crashes, every aggregation mode (and a few strategies) ends the run, reports every round
 * once, and each round is either committed with exactly the model the round's inputs give
 * (the oracle in helpers/round-oracle.ts) or skipped with a reason — never corrupted. For
 * algorithms with client state, the server state is also the mean of all clients' states
 * at the end (helpers/client-state.ts); their clients may crash but not lose their disk.
 *
 * A fast seeded subset runs here (fast-check with a fixed seed, so the suite is
 * reproducible); `npm run bench -- fault-sweep` runs hundreds of plans per mode and writes
 * the tally to RELIABILITY.md.
 */
import test from 'ava';
import fc from 'fast-check';
import { initBackend } from '../src/runtime/backend.js';
import { createStrategy, type StrategyConfig } from '../src/fl/strategies/create.js';
import { clientIdsOf, MODES, type Mode, runWorld, spec, tinyClients, tinyOptions } from './helpers/fl-world.js';
import { faultPlanArbitrary, harmlessPlanArbitrary } from './helpers/fault-plans.js';
import { bugErrors, judgeRounds, tally } from './helpers/round-oracle.js';
import { STATEFUL, type StatefulName, invariantBound, invariantGap } from './helpers/client-state.js';

test.before(async () => {
  await initBackend('cpu');
});

const clients = tinyClients();
const ids = clientIdsOf(clients);
const HELPERS: Record<Mode, string[]> = { plain: [], 'secure-worker': ['secure_worker'], additive: [], 'secagg+': ['secagg_server'] };

const cases: Array<{ mode: Mode; strategy: StrategyConfig; runs: number; stateful?: StatefulName }> = [
  ...MODES.map((mode) => ({ mode, strategy: { name: 'fedavg' }, runs: 12 })),
  { mode: 'plain', strategy: { name: 'fedavgm', serverLr: 1, momentum: 0.9 }, runs: 6 },
  { mode: 'secure-worker', strategy: { name: 'fedadam', eta: 0.05 }, runs: 6 },
  { mode: 'plain', strategy: { name: 'fedmedian' }, runs: 6 },
  // FedNova's extras and metrics go through the additive secure sum.
  { mode: 'additive', strategy: { name: 'fednova' }, runs: 6 },
  // Client state: the oracle trains each participant from the state its last included round left, and at the end the
  // server state must be the mean of every client's (SCAFFOLD's c = mean c_i, FedDyn's h = mean ∇L_i).
  { mode: 'plain', strategy: STATEFUL.scaffold.strategy, runs: 12, stateful: 'scaffold' },
  // (Not behind SecAgg+: the oracle's quantisation bound is FedAvg's, and SCAFFOLD scales the mean update by Σ n_k / |S|.)
  { mode: 'additive', strategy: STATEFUL.scaffold.strategy, runs: 12, stateful: 'scaffold' },
  { mode: 'secure-worker', strategy: STATEFUL.feddyn.strategy, runs: 12, stateful: 'feddyn' },
  { mode: 'additive', strategy: STATEFUL.feddyn.strategy, runs: 12, stateful: 'feddyn' },
];

for (const { mode, strategy, runs, stateful } of cases) {
  test(`${mode} / ${strategy.name}: under random fault plans every round is committed exactly or skipped with a reason`, async (t) => {
    const options = { ...tinyOptions(mode, clients), strategy };
    const totals = { committed: 0, skipped: 0, corrupted: 0, leftOut: 0 };
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000 }), faultPlanArbitrary({ clients: ids, services: ['server', ...HELPERS[mode]], deadlineMs: options.roundDeadlineMs!, clientsMayLoseStorage: !stateful }), async (seed, faults) => {
        const run = await runWorld(options, seed, faults);
        if (run.error) throw new Error(`the run failed: ${(run.error as Error).message}\nfaults: ${JSON.stringify(faults)}`);
        const bugs = bugErrors(run.sim);
        if (bugs.length > 0) throw new Error(`handler errors that are bugs:\n${bugs.join('\n')}\nfaults: ${JSON.stringify(faults)}`);
        const rounds = run.result!.rounds.map((r) => r.round);
        if (rounds.join() !== '1,2,3') throw new Error(`rounds reported: [${rounds}]`);
        const verdicts = judgeRounds(
          { mode, seed, spec, clients, clientIds: ids, strategy: createStrategy(strategy), secagg: { clippingRange: 8, quantizationRange: 4194304, maxWeight: Math.max(...clients.map((c) => c.y.length)) } },
          run.sim,
          run.result!,
        );
        const bad = verdicts.filter((v) => v.outcome === 'corrupted');
        if (bad.length > 0) throw new Error(`corrupted rounds: ${JSON.stringify(bad)}\nfaults: ${JSON.stringify(faults)}`);
        if (stateful) {
          const { gap, scale } = invariantGap(run.sim, ids, stateful);
          const contributions = run.result!.rounds.reduce((n, r) => n + r.participants.length, 0);
          const bound = invariantBound(scale, stateful, mode, { contributions, clients: ids.length, maxWeight: Math.max(...clients.map((c) => c.y.length)) });
          if (!(gap <= bound)) throw new Error(`${stateful}: the server state is ${gap} away from the mean of the clients' states (bound ${bound})\nfaults: ${JSON.stringify(faults)}`);
        }
        const counts = tally(verdicts);
        totals.committed += counts.committed;
        totals.skipped += counts.skipped;
        // Selected clients whose report no aggregate took (dropped, or in a skipped round): where client state could go wrong.
        totals.leftOut += run.result!.rounds.reduce((n, r) => n + r.dropped.length, 0);
      }),
      { numRuns: runs, seed: 13, endOnFailure: true, includeErrorInReport: true },
    );
    t.log(`${runs} fault plans: ${totals.committed} rounds committed, ${totals.skipped} skipped, ${totals.corrupted} corrupted; ${totals.leftOut} selected clients left out of a round`);
    t.true(totals.committed > 0, 'some rounds commit under faults');
    if (stateful) t.true(totals.leftOut > 0, 'some plans leave a client out of a round (else the client-state invariant is not tested)');
  });
}

for (const mode of MODES) {
  test(`${mode}: duplicates and reorders alone change nothing: the run equals the fault-free run bit for bit`, async (t) => {
    const options = tinyOptions(mode, clients);
    const reference = new Map<number, string>();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), harmlessPlanArbitrary(), async (seed, faults) => {
        if (!reference.has(seed)) {
          const clean = await runWorld(options, seed);
          reference.set(seed, JSON.stringify([clean.result!.weightsSha256, clean.result!.rounds.map((r) => [r.participants, r.skipped ?? null])]));
        }
        const run = await runWorld(options, seed, faults);
        if (run.error) throw new Error(`the run failed: ${(run.error as Error).message}`);
        const got = JSON.stringify([run.result!.weightsSha256, run.result!.rounds.map((r) => [r.participants, r.skipped ?? null])]);
        if (got !== reference.get(seed)) throw new Error(`differs from the fault-free run: ${got} vs ${reference.get(seed)}`);
      }),
      { numRuns: 8, seed: 17, endOnFailure: true, includeErrorInReport: true },
    );
    t.pass();
  });
}
