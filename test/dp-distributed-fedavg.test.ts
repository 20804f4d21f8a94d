/**
 * Distributed DP as whole federated runs (runFederated on the tiny synthetic world, aggregation
 * secagg+, dp.mode distributed): one seed, one event log, one model, one ε; each round's ε is
 * the composition of its Skellam events, from the noise its sum held; a client that drops
 * inside SecAgg+ makes its round's noise smaller and its ε unamplified; settings that cannot
 * work are refused naming their field.
 */
import test from 'ava';
import '../src/fl/experiments/register.js';
import { tinyExperimentProblems } from './helpers/tiny-experiment.js';
import { PrivacyAccountant } from '../src/dp/accounting/accountant.js';
import { distributedPlanFor } from '../src/dp/distributed/fedavg.js';
import { distributedRoundPrivacy } from '../src/dp/distributed/round-privacy.js';
import type { DpRoundNote } from '../src/dp/fedavg/dp-strategy.js';
import { dpNoteOf } from '../src/dp/fedavg/privacy-report.js';
import { DpSettingsSchema, type DpSettingsInput } from '../src/dp/fedavg/settings.js';
import { DpConfigError } from '../src/dp/errors.js';
import { FlConfigError } from '../src/fl/errors.js';
import type { FederatedOptions } from '../src/fl/rounds/index.js';
import { initBackend } from '../src/runtime/backend.js';
import { SECAGG } from '../src/fl/secure/secagg/index.js';
import { FEATURES, CLASSES, clientIdsOf, completedRun, eventsOf, runWorld, sentIds, tinyClients, tinyOptions } from './helpers/fl-world.js';
import { FL } from '../src/fl/rounds/index.js';
import { FIT_DONE } from '../src/fl/aggregators/secagg-plus-client.js';

test.before(async () => {
  await initBackend('cpu');
});

const clients = tinyClients(8);
const ids = clientIdsOf(clients);
const LENGTH = FEATURES * CLASSES + CLASSES; // the logistic model's weights and biases
const DP: DpSettingsInput = { mode: 'distributed', clip: 0.5, noiseMultiplier: 1, delta: 1e-5 };
const options = (dp: DpSettingsInput = DP, extra: Partial<FederatedOptions> = {}): FederatedOptions => ({
  ...tinyOptions('secagg+', clients),
  secagg: { numShares: 5, reconstructionThreshold: 3 },
  rounds: 4,
  fraction: 0.5,
  dp,
  ...extra,
});

const notesOf = (rounds: readonly { notes?: Readonly<Record<string, unknown>> }[]) => rounds.map((r) => dpNoteOf(r) as DpRoundNote);

test('one seed gives one event log, one model and one ε per round (also under duplicates and delays); another seed another model', async (t) => {
  const faults = { duplicate: 0.2, delay: { rate: 0.3, dist: { kind: 'uniform' as const, min: 0, max: 20 } } };
  const once = (seed: number) => completedRun(options(), seed, faults);
  const a = await once(5);
  const b = await once(5);
  t.is(a.log, b.log);
  t.is(a.result.weightsSha256, b.result.weightsSha256);
  t.deepEqual(notesOf(a.result.rounds), notesOf(b.result.rounds));
  t.deepEqual(
    eventsOf(a.sim, 'mark').filter((e) => e.label === 'dp').map((m) => (m.data as { round: number }).round),
    [1, 2, 3, 4],
  );
  // The clients handed SecAgg+ ring vectors of the rotated dimension (16 for 10 weights), never a float update.
  const masked = eventsOf(a.sim, 'sent').filter((e) => e.type === SECAGG.maskedInput);
  t.true(masked.length > 0);
  const c = await once(6);
  t.not(c.result.weightsSha256, a.result.weightsSha256);
});

test('each round composes its own Skellam events: the released model amplified by q when every share is in, the server never', async (t) => {
  const run = await runWorld(options(), 3);
  if (!run.result) throw run.error;
  const plan = distributedPlanFor(DpSettingsSchema.parse(DP), { length: LENGTH, clients: ids.length, rounds: 4 });
  const released = new PrivacyAccountant();
  const server = new PrivacyAccountant();
  for (const note of notesOf(run.result.rounds)) {
    const d = note.distributed!;
    t.is(d.bits, plan.bits);
    t.is(d.scale, plan.scale);
    if (d.participants !== undefined) {
      const events = distributedRoundPrivacy(plan, { participants: d.participants, survivors: d.survivors!, samplingRate: 0.5 });
      t.is(d.amplified, events.amplified);
      released.compose(events.released);
      server.compose(events.server);
    }
    t.is(note.epsilon, released.epsilon(1e-5).epsilon, `round ${note.rounds}: the released model's ε`);
    t.is(d.epsilonAgainstServer, server.epsilon(1e-5).epsilon, `round ${note.rounds}: ε against the server`);
    t.true(d.epsilonAgainstServer >= note.epsilon, 'the server, which knows who took part, gets no amplification');
  }
  t.true(run.result.rounds.every((r) => Number.isNaN(r.trainLoss) && r.numSamples === 0), 'loss and n_k withheld');
});

test('a client crashing at SecAgg+\'s collect stage takes its noise share along: the round commits with V·n_s/n of noise, accounted without amplification', async (t) => {
  // fraction 0.99: almost everyone each round; client 3 handles its fit, setup and share-keys of round 1, then dies.
  const crashed = ids[3];
  const run = await runWorld(options(DP, { fraction: 0.99, rounds: 2 }), 4, { crashes: [{ actor: crashed, afterMessages: 3 }] });
  if (!run.result) throw run.error;
  const [first, second] = notesOf(run.result.rounds);
  t.falsy(run.result.rounds[0].skipped);
  t.true(first.distributed!.survivors! < first.distributed!.participants!, `round 1: ${first.distributed!.survivors} of ${first.distributed!.participants}`);
  t.false(first.distributed!.amplified);
  t.false(run.result.rounds[0].participants?.includes(crashed) ?? false);
  const plan = distributedPlanFor(DpSettingsSchema.parse(DP), { length: LENGTH, clients: ids.length, rounds: 2 });
  const events = distributedRoundPrivacy(plan, { participants: first.distributed!.participants!, survivors: first.distributed!.survivors! });
  t.is(events.variance, (plan.noiseVariance * first.distributed!.survivors!) / first.distributed!.participants!);
  t.is(first.epsilon, new PrivacyAccountant().compose(events.released).epsilon(1e-5).epsilon);
  // Round 2: the crashed client never trains, so it is no participant; all shares arrive, amplified again.
  t.true(second.distributed!.amplified);
});

test('a round that releases nothing (fewer than 2 sampled: no SecAgg+ round) costs nothing', async (t) => {
  // q = 0.3 over 8 clients: fewer than 2 in a round with probability 0.26.
  const run = await runWorld(options(DP, { fraction: 0.3, rounds: 10, secagg: {} }), 2);
  if (!run.result) throw run.error;
  const notes = notesOf(run.result.rounds);
  const idle = run.result.rounds.map((r, i) => ({ r, note: notes[i] })).filter(({ note }) => note.distributed!.participants === undefined);
  t.true(idle.length > 0, 'some round released nothing');
  for (const { r, note } of idle) {
    const before = r.round === 1 ? 0 : notes[r.round - 2].epsilon;
    t.is(note.epsilon, before, `round ${r.round} (${r.skipped ?? 'nobody sampled'}) left ε as it was`);
  }
});

test('settings that cannot work are refused before the run, naming the field', async (t) => {
  const refused = async (dp: DpSettingsInput, extra: Partial<FederatedOptions>, pattern: RegExp, kind: typeof FlConfigError = FlConfigError) => {
    const run = await runWorld(options(dp, extra), 1);
    t.true(run.error instanceof kind, String(run.error));
    t.regex((run.error as Error).message, pattern);
  };
  await refused(DP, { aggregation: 'plain' }, /dp\.mode: expected 'central' or 'local' with aggregation 'plain': 'distributed' DP adds integer noise inside SecAgg\+/);
  await refused({ ...DP, mode: 'central', distributed: { bits: 20 } }, {}, /dp\.distributed: expected no dp\.distributed with dp\.mode 'central'/);
  await refused({ ...DP, adaptiveClip: {} }, {}, /dp\.adaptiveClip: expected no adaptiveClip under dp\.mode 'distributed'/);
  await refused({ ...DP, accountant: 'pld' }, {}, /dp\.accountant: expected 'rdp' with dp\.mode 'distributed'/);
  await refused({ ...DP, distributed: { bits: 3 } }, {}, /^dp\.distributed\.bits: no scale keeps the sum in Z_2\^3/, DpConfigError);
  await refused({ ...DP, distributed: { bits: 16, scale: 1e5 } }, {}, /^dp\.distributed\.scale: with scale 100000 the sum of up to 8 clients a round over 4 round\(s\), 10 values \(rotated to 16\) leaves Z_2\^16 .* use scale ≤ \d+/, DpConfigError);
  await refused({ ...DP, distributed: { mechanism: 'ddg' as 'skellam' } }, {}, /mechanism/);
});

test('an experiment file: distributed settings that cannot work are refused at their line and field; good ones load', async (t) => {
  const problems = (extra: string) => tinyExperimentProblems('aggregation: secagg+\n' + extra);
  const dp = 'clip: 1, noiseMultiplier: 1, delta: 1e-5, mode: distributed';
  t.deepEqual(await problems(`dp: { ${dp} }\n`), []);
  t.deepEqual(await problems(`dp: { ${dp}, distributed: { bits: 20, scale: auto, beta: 0 } }\n`), []);
  const cases: Array<[string, RegExp]> = [
    [`dp: { ${dp}, distributed: { bits: 3 } }\n`, /:9:\d+: at dp\.distributed\.bits: expected settings whose SecAgg\+ sums cannot wrap — no scale keeps the sum in Z_2\^3 .*rounding errors alone can reach 4.*raise bits/],
    [`dp: { ${dp}, distributed: { bits: 16, scale: 1e5 } }\n`, /:9:\d+: at dp\.distributed\.scale: expected settings whose SecAgg\+ sums cannot wrap — with scale 100000 .* use scale ≤ \d+ \(or 'auto'\)/],
    [`dp: { ${dp}, distributed: { bits: 40 } }\n`, /at dp\.distributed\.bits: .*32/],
    [`dp: { ${dp}, distributed: { mechanism: ddg } }\n`, /at dp\.distributed\.mechanism: expected "skellam", found "ddg" \(a string\): only 'skellam' is built: the distributed discrete Gaussian .* is left out/],
    [`dp: { clip: 1, noiseMultiplier: 1, delta: 1e-5, distributed: { bits: 20 } }\n`, /at dp\.distributed: expected no dp\.distributed with dp\.mode 'central'/],
  ];
  for (const [extra, expected] of cases) {
    const found = await problems(extra);
    t.true(found.some((p) => expected.test(p)), `${extra.trim()}\n  → ${found.join('\n  → ') || '(accepted)'}`);
  }
});

test('a lost fit (it carries the round\'s rotation seed and plan) and a lost fit-done are sent again: the model and ε are the fault-free run\'s', async (t) => {
  const reference = await completedRun(options(), 5);
  const selected = reference.result.rounds[1].selected[0];
  const fit = sentIds(reference.sim, FL.fit, selected).at(-1)!;
  const done = sentIds(reference.sim, FIT_DONE).at(-1)!;
  for (const msg of [fit, done]) {
    const faulty = await completedRun(options(), 5, { script: [{ msg, drop: true }] });
    t.true(eventsOf(faulty.sim, 'dropped').some((e) => e.msg === msg), msg);
    t.is(faulty.result.weightsSha256, reference.result.weightsSha256, msg);
    t.deepEqual(faulty.result.rounds.map((r) => dpNoteOf(r)?.epsilon), reference.result.rounds.map((r) => dpNoteOf(r)?.epsilon), msg);
  }
});
