/**
 * FedAvg's cryptographic aggregation options, 'additive' (clients additively share their
 * weighted updates among each other) and 'secagg+' (SecAgg+ masking): the model equals the
 * 'plain' run's within the fixed-point / quantisation error for n = 3, 10, 50 clients; no
 * message to the server carries an individual update; one seed gives one log and one model;
 * dropouts; the YAML experiment kind.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/runtime/backend.js';
import { createStream } from '../src/runtime/rng.js';
import { SimulationCore, type FaultPlanInput, type SimEvent } from '../src/runtime/index.js';
import { syntheticFedProx } from '../src/fl/data/synthetic.js';
import { createModel, nn } from '../src/fl/models/index.js';
import { FL, PLAIN_REPORT, packReport, runFederated, type ClientData, type FederatedOptions, type FitRes } from '../src/fl/rounds/index.js';
import { ADDITIVE } from '../src/fl/aggregators/additive-messages.js';
import { FIT_DONE } from '../src/fl/aggregators/secagg-plus-client.js';
import { decodeFixedVector } from '../src/actors/smpc/ring-vector.js';
import { roundQuantizationStep, SECAGG } from '../src/fl/secure/secagg/index.js';
import { loadScenario, runScenario } from '../src/scenario/index.js';
import { FlConfigError } from '../src/fl/errors.js';
import '../src/fl/experiments/register.js';
import type { FedAvgExperimentResult } from '../src/fl/experiments/fedavg-experiment.js';

test.before(async () => {
  await initBackend('cpu');
});

const FEATURES = 5;
const spec = nn.logistic(FEATURES, 2);

function clientsOf(n: number): ClientData[] {
  const devices = syntheticFedProx({ alpha: 0.5, beta: 0.5, devices: n, features: FEATURES, classes: 2, maxSamplesPerDevice: 40 }, { seed: n, name: 'data' });
  return devices.map((d) => ({ x: d.trainX, y: d.trainY }));
}

type Aggregation = 'plain' | 'additive' | 'secagg+';

async function run(aggregation: Aggregation, clients: ClientData[], options: Partial<FederatedOptions> = {}, seed = 5, faults?: FaultPlanInput) {
  const sim = new SimulationCore({ seed, faults });
  const result = await runFederated(sim, { model: spec, clients, rounds: 1, fraction: 1, localEpochs: 1, batchSize: 10, lr: 0.1, clientEvaluation: 'none', aggregation, ...options });
  await sim.settle();
  return { sim, result };
}

const maxAbsDiff = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((w, l) => Math.max(...w.map((v, j) => Math.abs(v - b[l][j])))));
const maxAbs = (ws: Float32Array[]) => Math.max(...ws.map((w) => Math.max(...w.map(Math.abs))));
const samples = (clients: ClientData[]) => clients.map((c) => c.y.length);

/** |additive − plain| per weight: n rounding errors of ≤ 0.5·10^-6 in Σ n_k w_k and in Σ n_k, over Σ n_k; plus float32 rounding. */
function additiveBound(clients: ClientData[], weights: Float32Array[]): number {
  const n = clients.length;
  const total = samples(clients).reduce((a, b) => a + b, 0);
  const encoding = (n * 0.5e-6 * (1 + maxAbs(weights))) / total;
  return encoding + 2 * 1.2e-7 * maxAbs(weights);
}

/** |secagg+ − plain|: the sums of c_k w_k and of c_k (c_k = n_k / max n) are each off by < n quantisation steps. */
function secAggBound(clients: ClientData[], weights: Float32Array[], step: number): number {
  const n = clients.length;
  const counts = samples(clients);
  const totalRatio = counts.reduce((a, b) => a + b, 0) / Math.max(...counts);
  const error = n * step;
  return (error * (1 + maxAbs(weights))) / (totalRatio - error) + 2 * 1.2e-7 * maxAbs(weights);
}

const delivered = (sim: SimulationCore, to: string) =>
  sim.log.events.filter((e): e is Extract<SimEvent, { ev: 'delivered' }> => e.ev === 'delivered' && e.to === to);
const sentOfType = (sim: SimulationCore, type: string) => sim.log.events.filter((e): e is Extract<SimEvent, { ev: 'sent' }> => e.ev === 'sent' && e.type === type);

for (const n of [3, 10, 50]) {
  test(`n = ${n}: 'additive' and 'secagg+' give the 'plain' model within the fixed-point and quantisation error`, async (t) => {
    const clients = clientsOf(n);
    const plain = await run('plain', clients);
    const additive = await run('additive', clients);
    const secagg = await run('secagg+', clients);
    for (const { result } of [additive, secagg]) {
      t.deepEqual(result.rounds[0].participants, plain.result.rounds[0].participants);
      t.is(result.rounds[0].numSamples, plain.result.rounds[0].numSamples);
      t.is(result.rounds[0].skipped, undefined);
    }
    const aBound = additiveBound(clients, plain.result.weights);
    const aDiff = maxAbsDiff(additive.result.weights, plain.result.weights);
    t.true(aDiff <= aBound, `additive: |Δw| = ${aDiff} > bound ${aBound}`);
    t.true(Math.abs(additive.result.rounds[0].trainLoss - plain.result.rounds[0].trainLoss) <= 1e-5);

    const step = roundQuantizationStep({ clippingRange: 8, quantizationRange: 4194304 });
    const sBound = secAggBound(clients, plain.result.weights, step);
    const sDiff = maxAbsDiff(secagg.result.weights, plain.result.weights);
    t.true(sDiff <= sBound, `secagg+: |Δw| = ${sDiff} > bound ${sBound}`);
    t.log(`n = ${n}: additive |Δw| ${aDiff.toExponential(2)} (bound ${aBound.toExponential(2)}), secagg+ |Δw| ${sDiff.toExponential(2)} (bound ${sBound.toExponential(2)})`);
  });
}

test('two rounds: the secure models stay within a few error bounds of the plain model', async (t) => {
  const clients = clientsOf(10);
  const plain = await run('plain', clients, { rounds: 2 });
  for (const aggregation of ['additive', 'secagg+'] as const) {
    const { result } = await run(aggregation, clients, { rounds: 2 });
    t.is(result.rounds.length, 2);
    t.true(maxAbsDiff(result.weights, plain.result.weights) < 1e-4, aggregation);
  }
});

/** Each client's round-1 update, as plain FedAvg's clients send it (same seed: same training). */
async function individualUpdates(clients: ClientData[]) {
  const { sim } = await run('plain', clients);
  return sentOfType(sim, FL.fitResult).map((e) => ({ client: e.from, ...(e.envelope.payload as FitRes) }));
}

test("'additive': the server receives only sums of shares, no message carries a client's update, and a sum of shares alone reveals nothing", async (t) => {
  const clients = clientsOf(5);
  const updates = await individualUpdates(clients);
  const { sim, result } = await run('additive', clients);
  t.deepEqual([...new Set(delivered(sim, 'server').map((e) => e.type))].sort(), [FL.run, FL.runAck, ADDITIVE.sum].sort());
  t.is(sentOfType(sim, FL.fitResult).length, 0, 'no plain update is ever sent');
  // Every client sends one share to each of the 4 others, and one sum to the server.
  t.is(sentOfType(sim, ADDITIVE.share).length, 5 * 4);
  t.is(sentOfType(sim, ADDITIVE.sum).length, 5);
  t.true(sentOfType(sim, ADDITIVE.share).every((e) => e.to !== 'server' && e.to !== e.from));
  // What a client's update would look like encoded, against what the server got from that client.
  for (const e of sentOfType(sim, ADDITIVE.sum)) {
    const own = updates.find((u) => u.client === e.from)!;
    const decoded = decodeFixedVector((e.envelope.payload as { sum: BigUint64Array }).sum, { precisionFractional: 6 });
    const update = packReport(own, own.numSamples, PLAIN_REPORT);
    const far = decoded.every((v, i) => Math.abs(v - update[i]) > 1);
    t.true(far, `the sum of shares from ${e.from} decodes to values unrelated to its update`);
  }
  // The final model is not any client's update.
  t.true(updates.every((u) => maxAbsDiff(u.weights, result.weights) > 1e-4));
});

test("'secagg+': the server receives fit-done notices and SecAgg+'s sum only; masked inputs go to the SecAgg+ server", async (t) => {
  const clients = clientsOf(5);
  const { sim } = await run('secagg+', clients);
  t.deepEqual([...new Set(delivered(sim, 'server').map((e) => e.type))].sort(), [FL.run, FL.runAck, FIT_DONE, SECAGG.result].sort());
  t.is(sentOfType(sim, FL.fitResult).length, 0);
  t.true(delivered(sim, 'server').filter((e) => e.type === FIT_DONE).every((e) => Object.keys(e.envelope.payload as object).join() === 'round'), 'fit-done carries no weights');
  const masked = sentOfType(sim, SECAGG.maskedInput);
  t.is(masked.length, 5);
  t.true(masked.every((e) => e.to === 'secagg_server'));
  t.true(delivered(sim, 'server').filter((e) => e.type === SECAGG.result).every((e) => e.from === 'secagg_server'));
});

for (const aggregation of ['additive', 'secagg+'] as const) {
  test(`'${aggregation}': one seed gives an identical event log and identical weights`, async (t) => {
    const clients = clientsOf(6);
    const faults = { delay: { rate: 0.3, dist: { kind: 'uniform' as const, min: 0, max: 20 } } };
    const a = await run(aggregation, clients, { rounds: 2 }, 11, faults);
    const b = await run(aggregation, clients, { rounds: 2 }, 11, faults);
    t.is(a.result.weightsSha256, b.result.weightsSha256);
    t.is(a.sim.log.toJSONL(), b.sim.log.toJSONL());
    const c = await run(aggregation, clients, { rounds: 2 }, 12, faults);
    t.not(c.sim.log.toJSONL(), a.sim.log.toJSONL());
  });
}

function initialWeights(seed: number) {
  const model = createModel(spec, createStream(seed, 'model/init'));
  const weights = model.getWeights();
  model.dispose();
  return weights;
}

/** Client 2 crashes after its fit and two more messages: under secagg+ after setup and share-keys; under additive after two peers' shares. */
const crash = { crashes: [{ actor: 'client-2', afterMessages: 3 }] };

test("'secagg+' tolerates a client that drops out mid-protocol: the round aggregates the survivors", async (t) => {
  const clients = clientsOf(6);
  const { result } = await run('secagg+', clients, {}, 5, crash);
  const round = result.rounds[0];
  t.is(round.skipped, undefined);
  t.deepEqual(round.dropped, ['client-2']);
  t.is(round.participants.length, 5);
  // The survivors' average: the plain run without client 2's data, same selection otherwise.
  const survivors = clients.filter((_, i) => i !== 2).map((c, i) => ({ ...c, id: `client-${[0, 1, 3, 4, 5][i]}` }));
  const plain = await run('plain', survivors);
  t.true(maxAbsDiff(result.weights, plain.result.weights) < 1e-3);
});

test("'additive' aborts the round cleanly when a participant is missing: the old model is kept", async (t) => {
  const clients = clientsOf(6);
  const { sim, result } = await run('additive', clients, { roundDeadlineMs: 500 }, 5, crash);
  const round = result.rounds[0];
  t.regex(round.skipped ?? '', /additive aggregation: no sum of shares from \[.*client-2.*\]/);
  t.deepEqual(round.participants, []);
  t.deepEqual(result.weights, initialWeights(5));
  t.true(sim.log.events.some((e) => e.ev === 'crashed'));
});

test("'additive' needs three clients per round: with two the run is refused before it starts, saying why", async (t) => {
  await t.throwsAsync(run('additive', clientsOf(2)), { instanceOf: FlConfigError, message: /aggregation: expected an aggregation that works with 2 clients per round .*'additive' needs at least 3/ });
});

test('a strategy that needs individual updates cannot run behind additive or SecAgg+ aggregation', async (t) => {
  for (const aggregation of ['additive', 'secagg+'] as const) {
    await t.throwsAsync(run(aggregation, clientsOf(4), { strategy: { name: 'krum', byzantine: 0 } }), { message: new RegExp(`aggregation '${aggregation.replace('+', '\\+')}'`) });
  }
});

test('a secagg.maxWeight below some client\'s sample count is refused before the run, naming the field and the bound', async (t) => {
  const clients = clientsOf(4).map((c, i) => ({ x: c.x.slice(0, (20 + 5 * i) * FEATURES), y: c.y.slice(0, 20 + 5 * i) }));
  const largest = Math.max(...samples(clients));
  await t.throwsAsync(run('secagg+', clients, { secagg: { maxWeight: largest - 1 }, roundDeadlineMs: 200 }), {
    instanceOf: FlConfigError,
    message: new RegExp(`secagg\\.maxWeight: expected at least ${largest} \\(the largest client's sample count\\)`),
  });
  const ok = await run('secagg+', clients, { secagg: { maxWeight: largest } });
  t.is(ok.result.rounds[0].participants.length, 4);
});

async function checkYaml(t: ExecutionContext, aggregation: string) {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-secure-'));
  const file = join(dir, 'secure.yaml');
  writeFileSync(
    file,
    `kind: fedavg
name: ${aggregation} on a small synthetic problem
seed: 2
data: { source: synthetic, alpha: 0.5, beta: 0.5, devices: 8, features: 10, classes: 3, maxSamplesPerDevice: 60 }
model: { kind: logistic, inputs: 10, classes: 3 }
aggregation: ${aggregation}
rounds: 3
fraction: 0.5
localEpochs: 2
batchSize: 10
lr: 0.1
expect: { maxSkippedRounds: 0 }
`,
  );
  const scenario = await loadScenario(file);
  const a = await runScenario<FedAvgExperimentResult>(scenario);
  t.true(a.ok, JSON.stringify(a.checks));
  t.is(a.result!.rounds, 3);
  t.true(a.result!.perRound.every((r) => r.participants === 4 && r.bytesUp > 0));
  const b = await runScenario<FedAvgExperimentResult>(scenario);
  t.is(b.result!.weightsSha256, a.result!.weightsSha256);
  t.is(b.sim.log.toJSONL(), a.sim.log.toJSONL());
}

test('a fedavg experiment file with aggregation: secagg+ runs through loadScenario/runScenario, reproducibly', (t) => checkYaml(t, 'secagg+'));
test('a fedavg experiment file with aggregation: additive runs through loadScenario/runScenario', (t) => checkYaml(t, 'additive'));
