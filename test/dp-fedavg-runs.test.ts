/**
 * DP-FedAvg as whole runs on the round engine (runFederated on a tiny synthetic world): one
 * seed gives one event log and one model in every mode; uniform weighting gives the same
 * mean through all four aggregation modes; the accounting per round (Poisson, fixed,
 * local, empty draws, skipped rounds) against the accountant; fault plans — a dropped
 * report, a server that crashes and loses its memory — still give the fault-free run, ε
 * included (the ledger is in the checkpoint).
 */
import test from 'ava';
import { FlConfigError } from '../src/fl/errors.js';
import { PrivacyAccountant } from '../src/dp/accounting/accountant.js';
import { dpNoteOf } from '../src/dp/fedavg/privacy-report.js';
import type { DpSettingsInput } from '../src/dp/fedavg/settings.js';
import { plainLocalTraining } from '../src/fl/algorithms/client-algorithm.js';
import { FL, type FederatedOptions, type RoundAggregate } from '../src/fl/rounds/index.js';
import { FedAvg } from '../src/fl/strategies/fedavg.js';
import type { RoundFailure, StrategyContext } from '../src/fl/strategies/strategy.js';
import { initBackend } from '../src/runtime/backend.js';
import { SimulationCore } from '../src/runtime/index.js';
import { runFederated } from '../src/fl/rounds/index.js';
import { MODES, type Mode, clientIdsOf, completedRun, eventsOf, runWorld, sentIds, tinyClients, tinyOptions } from './helpers/fl-world.js';

test.before(async () => {
  await initBackend('cpu');
});

const clients = tinyClients(8);
const ids = clientIdsOf(clients);
const DP: DpSettingsInput = { clip: 0.5, noiseMultiplier: 1, delta: 1e-5 };
const dpOptions = (dp: DpSettingsInput, aggregation: Mode = 'plain', extra: Partial<FederatedOptions> = {}): FederatedOptions => ({
  ...tinyOptions(aggregation, clients),
  ...(aggregation === 'secagg+' ? { secagg: { numShares: 5, reconstructionThreshold: 3 } } : {}),
  rounds: 4,
  fraction: 0.5,
  dp,
  ...extra,
});

const epsilons = (rounds: readonly { notes?: Readonly<Record<string, unknown>> }[]) => rounds.map((r) => dpNoteOf(r)?.epsilon);

// ── determinism ──────────────────────────────────────────────────────────────

const MODES_UNDER_TEST: Array<[string, DpSettingsInput]> = [
  ['central', DP],
  ['local', { ...DP, mode: 'local' }],
  ['adaptive', { ...DP, noiseMultiplier: 0.5, adaptiveClip: { countStddev: 1 } }],
  ['fixed-size', { ...DP, sampling: 'fixed' }],
];

for (const [name, dp] of MODES_UNDER_TEST) {
  test(`${name}: one seed gives one event log and one model (also under duplicates and delays); another seed another model`, async (t) => {
    const faults = { duplicate: 0.2, delay: { rate: 0.3, dist: { kind: 'uniform' as const, min: 0, max: 20 } } };
    const once = (seed: number) => completedRun(dpOptions(dp), seed, faults);
    const a = await once(5);
    const b = await once(5);
    t.is(a.log, b.log);
    t.is(a.result.weightsSha256, b.result.weightsSha256);
    t.deepEqual(epsilons(a.result.rounds), epsilons(b.result.rounds));
    const marks = eventsOf(a.sim, 'mark').filter((e) => e.label === 'dp');
    t.deepEqual(
      marks.map((m) => (m.data as { round: number }).round),
      [1, 2, 3, 4],
      'one dp mark per round',
    );
    t.true(a.result.rounds.every((r) => Number.isNaN(r.trainLoss) && r.numSamples === 0), 'loss and n_k withheld');
    const c = await once(6);
    t.not(c.result.weightsSha256, a.result.weightsSha256);
  });
}

// ── accounting per round ─────────────────────────────────────────────────────

test('central, Poisson: round r has composed r Poisson-sampled Gaussians (q, z); an empty draw is a round that releases noise alone, accounted', async (t) => {
  // q = 0.1 over 8 clients: a round draws nobody with probability 0.43.
  const run = await runWorld(dpOptions(DP, 'plain', { fraction: 0.1, rounds: 6 }), 2);
  if (!run.result) throw run.error;
  const rounds = run.result.rounds;
  const expected = rounds.map((_, i) => new PrivacyAccountant().compose({ kind: 'poisson-sampled-gaussian', samplingRate: 0.1, noiseMultiplier: 1 }, i + 1).epsilon(1e-5).epsilon);
  t.deepEqual(epsilons(rounds), expected);
  const empty = rounds.filter((r) => r.selected.length === 0);
  t.true(empty.length > 0, `seed 2 should draw an empty round: ${rounds.map((r) => r.selected.length)}`);
  t.true(empty.every((r) => r.skipped === undefined && r.participants.length === 0), 'an empty round is committed, not skipped');
  // No fit goes out in an empty round: the fits sent are one per selected client (fault-free, nobody is late).
  t.is(sentIds(run.sim, FL.fit).length, rounds.reduce((n, r) => n + r.selected.length, 0));
});

test("dp.accountant 'pld': each round's ε is the PLD accountant's for the rounds so far", async (t) => {
  const run = await runWorld(dpOptions({ ...DP, accountant: 'pld' }, 'plain', { rounds: 2 }), 2);
  if (!run.result) throw run.error;
  t.deepEqual(
    epsilons(run.result.rounds),
    [1, 2].map((n) => new PrivacyAccountant({ kind: 'pld' }).compose({ kind: 'poisson-sampled-gaussian', samplingRate: 0.5, noiseMultiplier: 1 }, n).epsilon(1e-5).epsilon),
  );
  t.is(dpNoteOf(run.result.rounds[1])!.accountant, 'pld');
});

test('central, fixed-size: each round composes the Gaussian of multiplier z/2 (replace one client, no amplification claimed)', async (t) => {
  const run = await runWorld(dpOptions({ ...DP, sampling: 'fixed' }), 3);
  if (!run.result) throw run.error;
  t.true(run.result.rounds.every((r) => r.selected.length === 4));
  t.deepEqual(
    epsilons(run.result.rounds),
    [1, 2, 3, 4].map((n) => new PrivacyAccountant().compose({ kind: 'gaussian', noiseMultiplier: 0.5 }, n).epsilon(1e-5).epsilon),
  );
});

test('local: ε is that of the client that took part most, against the server (Gaussian z/2 per round it took part in)', async (t) => {
  const run = await runWorld(dpOptions({ ...DP, mode: 'local' }, 'plain', { rounds: 5 }), 4);
  if (!run.result) throw run.error;
  const taken: Record<string, number> = {};
  run.result.rounds.forEach((r, i) => {
    for (const c of r.selected) taken[c] = (taken[c] ?? 0) + 1;
    const most = Math.max(0, ...Object.values(taken));
    t.is(dpNoteOf(r)!.epsilon, new PrivacyAccountant().compose({ kind: 'gaussian', noiseMultiplier: 0.5 }, most).epsilon(1e-5).epsilon, `round ${i + 1}`);
  });
});

test('a skipped round is accounted all the same (it may have released that it was skipped)', async (t) => {
  // Additive shares have no threshold: with one client down for good, every round is skipped.
  const run = await runWorld(dpOptions(DP, 'additive', { rounds: 3, fraction: 1 }), 1, { crashes: [{ actor: ids[2], at: 0 }] });
  if (!run.result) throw run.error;
  t.true(run.result.rounds.every((r) => r.skipped !== undefined && dpNoteOf(r)!.skipped === true));
  t.deepEqual(
    epsilons(run.result.rounds),
    [1, 2, 3].map((n) => new PrivacyAccountant().compose({ kind: 'poisson-sampled-gaussian', samplingRate: 1, noiseMultiplier: 1 }, n).epsilon(1e-5).epsilon),
  );
});

// ── uniform weighting through every aggregation mode ─────────────────────────

/** Five clients holding 6, 9, 12, 15 and 18 samples. */
const unequal = clients.slice(0, 5).map((c, i) => {
  const n = 6 + 3 * i;
  return { x: c.x.slice(0, n * (c.x.length / c.y.length)), y: c.y.slice(0, n) };
});

/** FedAvg whose clients report with uniform weights; it keeps the aggregates it stepped on. */
class UniformFedAvg extends FedAvg {
  override readonly name = 'uniform-fedavg';
  override readonly client = { ...plainLocalTraining, name: 'uniform-sgd', reports: { extras: [], metrics: [], weighting: 'uniform' as const } };
  readonly seen: RoundAggregate[] = [];
  override aggregate(round: number, results: RoundAggregate, failures: readonly RoundFailure[], ctx: StrategyContext<undefined>) {
    this.seen.push(results);
    return super.aggregate(round, results, failures, ctx);
  }
}

test('uniform weighting gives the same mean in all four aggregation modes: the plain mean of the updates, not the sample-weighted one', async (t) => {
  const finals: Record<string, Float32Array> = {};
  for (const mode of MODES) {
    const strategy = new UniformFedAvg({ fraction: 1 });
    const run = await runWorld({ ...tinyOptions(mode, unequal), rounds: 1, strategy }, 9);
    if (!run.result) throw run.error;
    t.is(run.result.rounds[0].skipped, undefined, mode);
    finals[mode] = Float32Array.from(run.result.weights.flatMap((w) => Array.from(w)));
    if (mode === 'plain') {
      const [aggregate] = strategy.seen;
      const individual = aggregate.individual!;
      t.true(new Set(individual.map((u) => u.numSamples)).size > 1, 'the clients hold different amounts of data');
      const uniform = aggregate.weights.map((layer, l) => layer.map((_, j) => individual.reduce((s, u) => s + u.weights[l][j], 0) / individual.length));
      const total = individual.reduce((s, u) => s + u.numSamples, 0);
      const bySamples = aggregate.weights.map((layer, l) => layer.map((_, j) => individual.reduce((s, u) => s + u.numSamples * u.weights[l][j], 0) / total));
      const gap = (a: Float64Array[], b: Float64Array[]) => Math.max(...a.flatMap((x, l) => Array.from(x, (v, j) => Math.abs(v - b[l][j]))));
      t.true(gap(aggregate.weights, uniform) < 1e-12, 'the plain mean');
      t.true(gap(uniform, bySamples) > 1e-4, 'which differs from the sample-weighted mean');
    }
  }
  for (const mode of MODES) {
    // Secure sums encode in fixed point (additive: 10⁻⁶) or quantise (SecAgg+: 2·8/2²² per value).
    const gap = Math.max(...Array.from(finals[mode], (v, j) => Math.abs(v - finals.plain[j])));
    t.true(gap < 5e-5, `${mode} vs plain: ${gap}`);
  }
});

test('central DP runs through every aggregation mode; secure modes give the plain mode\'s model up to their encoding', async (t) => {
  const finals: Record<string, number[]> = {};
  for (const mode of MODES) {
    // q = 1: the same clients every round in every mode, so only the encoding differs.
    const run = await runWorld(dpOptions(DP, mode, { fraction: 1, rounds: 2 }), 4);
    if (!run.result) throw run.error;
    t.true(run.result.rounds.every((r) => r.skipped === undefined && r.participants.length === 8), mode);
    finals[mode] = run.result.weights.flatMap((w) => Array.from(w));
  }
  for (const mode of MODES) {
    const gap = Math.max(...finals[mode].map((v, j) => Math.abs(v - finals.plain[j])));
    t.true(gap < 1e-4, `${mode} vs plain: ${gap}`);
  }
});

// ── faults ───────────────────────────────────────────────────────────────────

async function faultFree(dp: DpSettingsInput) {
  const run = await runWorld(dpOptions(dp), 7);
  if (!run.result) throw run.error;
  return run;
}

test('a dropped report is sent again from storage: the run and its ε are the fault-free ones (local noise is drawn once per round)', async (t) => {
  for (const dp of [DP, { ...DP, mode: 'local' as const }]) {
    const reference = await faultFree(dp);
    const report = sentIds(reference.sim, FL.fitResult).find((id) => id.startsWith(`${reference.result!.rounds[1].selected[0]}:`))!;
    const faulty = await runWorld(dpOptions(dp), 7, { script: [{ msg: report, drop: true }] });
    if (!faulty.result) throw faulty.error;
    t.true(eventsOf(faulty.sim, 'dropped').some((e) => e.msg === report));
    t.is(faulty.result.weightsSha256, reference.result!.weightsSha256, dp.mode ?? 'central');
    t.deepEqual(epsilons(faulty.result.rounds), epsilons(reference.result!.rounds));
  }
});

test('a server crash that loses its memory resumes from its checkpoint: the ledger and C survive, the model and ε are the fault-free ones', async (t) => {
  const dp: DpSettingsInput = { ...DP, noiseMultiplier: 0.5, adaptiveClip: { countStddev: 1 } };
  const reference = await faultFree(dp);
  // Mid round 3: after the run request and two rounds' worth of reports.
  const afterMessages = 1 + reference.result!.rounds[0].selected.length + reference.result!.rounds[1].selected.length + 1;
  const faulty = await runWorld(dpOptions(dp), 7, { crashes: [{ actor: 'server', afterMessages, restartAfter: 50, loseState: true }] });
  if (!faulty.result) throw faulty.error;
  t.true(eventsOf(faulty.sim, 'crashed').some((e) => e.actor === 'server'));
  t.is(faulty.result.weightsSha256, reference.result!.weightsSha256);
  t.deepEqual(epsilons(faulty.result.rounds), epsilons(reference.result!.rounds));
  t.deepEqual(
    faulty.result.rounds.map((r) => dpNoteOf(r)!.clip),
    reference.result!.rounds.map((r) => dpNoteOf(r)!.clip),
  );
  // One dp mark per round even so: a round is marked when it commits, and a redone round commits once.
  t.is(eventsOf(faulty.sim, 'mark').filter((e) => e.label === 'dp').length, 4);
});

test('a client that crashes for good: its rounds go on without it, every round accounted', async (t) => {
  const crashed = ids[3];
  const run = await runWorld(dpOptions(DP, 'plain', { fraction: 1, rounds: 3 }), 7, { crashes: [{ actor: crashed, at: 0 }] });
  if (!run.result) throw run.error;
  t.true(run.result.rounds.every((r) => r.skipped === undefined && !r.participants.includes(crashed) && r.participants.length === 7));
  t.deepEqual(
    epsilons(run.result.rounds),
    [1, 2, 3].map((n) => new PrivacyAccountant().compose({ kind: 'poisson-sampled-gaussian', samplingRate: 1, noiseMultiplier: 1 }, n).epsilon(1e-5).epsilon),
  );
});

test('the budget stops the run before the round that would exceed it: complete, with the reason', async (t) => {
  const per = (n: number) => new PrivacyAccountant().compose({ kind: 'poisson-sampled-gaussian', samplingRate: 0.5, noiseMultiplier: 1 }, n).epsilon(1e-5).epsilon;
  const budget = (per(2) + per(3)) / 2; // 2 rounds fit, the 3rd would not
  const sim = new SimulationCore({ seed: 1 });
  const result = await runFederated(sim, dpOptions({ ...DP, budget: { epsilon: budget } }, 'plain', { rounds: 10 }));
  t.is(result.rounds.length, 2);
  t.deepEqual(result.stopped?.beforeRound, 3);
  t.regex(result.stopped!.reason, /^privacy budget: round 3 would take ε to [\d.]+, above dp\.budget\.epsilon/);
  t.true(dpNoteOf(result.rounds[1])!.epsilon <= budget);
  // A budget below one round's cost could run no round at all: refused before the run, naming the field.
  const error = t.throws(() => runFederated(new SimulationCore({ seed: 1 }), dpOptions({ ...DP, budget: { epsilon: per(1) / 2 } }, 'plain', { rounds: 10 })), { instanceOf: FlConfigError });
  t.is((error as FlConfigError).where.field, 'dp.budget.epsilon');
});

test("a run the budget stops early still runs its 'final' evaluations, on the model it ends with (as a run of that many rounds would)", async (t) => {
  const per = (n: number) => new PrivacyAccountant().compose({ kind: 'poisson-sampled-gaussian', samplingRate: 0.5, noiseMultiplier: 1 }, n).epsilon(1e-5).epsilon;
  const withTests = clients.map((c) => ({ ...c, testX: c.x, testY: c.y }));
  const finalEvaluations = { clients: withTests, clientEvaluation: 'final' as const, trainEvaluation: 'final' as const };
  const stopped = await runFederated(new SimulationCore({ seed: 1 }), dpOptions({ ...DP, budget: { epsilon: (per(2) + per(3)) / 2 } }, 'plain', { ...finalEvaluations, rounds: 10 }));
  t.is(stopped.stopped?.beforeRound, 3);
  const [first, last] = stopped.rounds;
  t.is(first.clients, undefined, "round 1 is not the last: no 'final' evaluation there");
  t.deepEqual(Object.keys(last.clients ?? {}), ids);
  t.true(Number.isFinite(last.globalTrainLoss) && Number.isFinite(last.clientTestLoss));
  // The same two rounds as a run of 2 rounds: its final evaluation is of the same model.
  const planned = await runFederated(new SimulationCore({ seed: 1 }), dpOptions(DP, 'plain', { ...finalEvaluations, rounds: 2 }));
  t.is(planned.weightsSha256, stopped.weightsSha256);
  const pick = (r: typeof last) => ({ clients: r.clients, globalTrainLoss: r.globalTrainLoss, globalTrainAccuracy: r.globalTrainAccuracy, clientTestLoss: r.clientTestLoss, clientTestAccuracy: r.clientTestAccuracy });
  t.deepEqual(pick(last), pick(planned.rounds[1]));
});
