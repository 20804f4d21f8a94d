/**
 * DP-SGD in local training and in a federated run: determinism under the seed (weights bit
 * for bit, the whole event log), the accounting each client records and the run's worst
 * client's ε (checked against the accountant composed by hand), the experiment file's
 * `dpSgd` setting, and the settings refused before any training.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/runtime/backend.js';
import { createStream } from '../src/runtime/rng.js';
import { SimulationCore } from '../src/runtime/index.js';
import { ActorStorage } from '../src/runtime/durable-storage.js';
import { FlConfigError } from '../src/fl/errors.js';
import { createModel, fromLayers, nn, weightsSha256 } from '../src/fl/models/index.js';
import { type Dataset, trainLocal } from '../src/fl/training/index.js';
import { ANSWER_KEY, runFederated, type StoredAnswer } from '../src/fl/rounds/index.js';
import { PrivacyAccountant } from '../src/dp/accounting/accountant.js';
import { DP_SGD_MARK, recordDpSgdRound } from '../src/fl/training/dp-sgd/client-privacy.js';
import { DpSgdPrivacyLedger } from '../src/fl/training/dp-sgd/privacy-ledger.js';
import { dpSgdSchedule } from '../src/fl/training/dp-sgd/train-dp-sgd.js';
import { loadScenario, runScenario } from '../src/scenario/index.js';
import '../src/fl/experiments/register.js';
import type { FedAvgExperimentResult } from '../src/fl/experiments/fedavg-experiment.js';
import { clientIdsOf, eventsOf, tinyClients, tinyOptions } from './helpers/fl-world.js';

test.before(async () => {
  await initBackend('cpu');
});

function dataset(n: number, features: number, classes: number, seed: number): Dataset {
  const rng = createStream(seed, 'data');
  return { x: Float32Array.from({ length: n * features }, () => rng.normal()), y: Int32Array.from({ length: n }, () => rng.int(classes)) };
}

const dpSgd = { clip: 1, noiseMultiplier: 1.1 };

test('trainLocal with dpSgd: the same seed gives bit-identical weights, another seed other weights; no tensor is left behind', (t) => {
  const cases = [
    { spec: nn.mlp([10, 8, 3]), data: dataset(37, 10, 3, 1) },
    { spec: nn.cnn({ inputShape: [6, 6, 1], filters: [2, 2], kernelSize: 3, hidden: 4, classes: 3 }), data: dataset(23, 36, 3, 2) },
  ];
  for (const { spec, data } of cases) {
    for (const optimizer of ['sgd', { name: 'sgd', momentum: 0.9 }, { name: 'adam' }] as const) {
      const train = (seed: number) => {
        const model = createModel(spec, createStream(7, 'model/init'));
        const before = tf.memory().numTensors;
        const result = trainLocal(model, data, { epochs: 2, batchSize: 5, lr: 0.05, optimizer, dpSgd }, createStream(seed, 'actor/c/shuffle/round-1'));
        t.is(tf.memory().numTensors, before, `${spec.kind}: tensors after training`);
        model.dispose();
        return result;
      };
      const a = train(1);
      const b = train(1);
      const c = train(2);
      t.is(weightsSha256(a.weights), weightsSha256(b.weights), `${spec.kind} ${JSON.stringify(optimizer)}: same seed`);
      t.not(weightsSha256(a.weights), weightsSha256(c.weights), `${spec.kind} ${JSON.stringify(optimizer)}: another seed`);
      const n = data.y.length;
      t.deepEqual(a.dpSgd, { samplingRate: 5 / n, noiseMultiplier: 1.1, steps: 2 * Math.ceil(n / 5), clip: 1, delta: 1e-5, examples: n });
      t.is(a.steps, 2 * Math.ceil(n / 5));
      t.true(a.samplesSeen !== a.steps * 5 || a.samplesSeen > 0, 'Poisson batches: the samples seen are random');
    }
  }
});

test('the schedule: q = min(1, B/n), ⌈n/B⌉ steps an epoch, the expected batch q·n', (t) => {
  t.deepEqual(dpSgdSchedule(100, 10, 3), { samplingRate: 0.1, steps: 30, expectedBatchSize: 10 });
  t.deepEqual(dpSgdSchedule(105, 10, 1), { samplingRate: 10 / 105, steps: 11, expectedBatchSize: 10 });
  // Fewer examples than B: every example in every step, one step an epoch.
  t.deepEqual(dpSgdSchedule(4, 10, 2), { samplingRate: 1, steps: 2, expectedBatchSize: 4 });
});

test('bad dpSgd settings are refused with the field, the value\'s problem and an example', (t) => {
  const model = createModel(nn.logistic(4, 2), createStream(1, 'model/init'));
  const data = dataset(10, 4, 2, 3);
  const rng = createStream(1, 's');
  const cases: Array<[unknown, RegExp]> = [
    [{ clip: 0, noiseMultiplier: 1 }, /dpSgd\.clip: expected the clip norm C, a finite number > 0/],
    [{ clip: 1, noiseMultiplier: -1 }, /dpSgd\.noiseMultiplier: expected the noise multiplier σ, a finite number ≥ 0/],
    [{ clip: 1, noiseMultiplier: 1, delta: 1 }, /dpSgd\.delta: expected δ in \(0, 1\)/],
    [{ clip: 1, noiseMultiplier: 1, noise: 2 }, /dpSgd: .*noise/],
    [{ clip: Infinity, noiseMultiplier: 1 }, /dpSgd\.clip/],
    [{ noiseMultiplier: 1 }, /dpSgd\.clip/],
  ];
  for (const [setting, message] of cases) {
    const error = t.throws(() => trainLocal(model, data, { epochs: 1, batchSize: 2, lr: 0.1, dpSgd: setting } as never, rng), { instanceOf: FlConfigError }, JSON.stringify(setting));
    t.regex(error!.message, message, JSON.stringify(setting));
  }
  t.throws(() => trainLocal(model, data, { epochs: 1, batchSize: 2, lr: 0.1, dpSgd, dropLast: true }, rng), { instanceOf: FlConfigError, message: /dropLast cannot be combined with dpSgd/ });
  model.dispose();
});

test('a client\'s account: each round composed once, stored durably, marked in the log; σ = 0 is ε = ∞', (t) => {
  const storage = new ActorStorage();
  const marks: Array<Record<string, unknown>> = [];
  const client = { storage, mark: (label: string, data?: Record<string, unknown>) => label === DP_SGD_MARK && marks.push(data!) };
  const spend = { samplingRate: 0.05, noiseMultiplier: 1.2, steps: 40, clip: 1, delta: 1e-5, examples: 200 };
  const e1 = recordDpSgdRound(client, 1, spend);
  const again = recordDpSgdRound(client, 1, spend); // the same round trained again (a retried fit after a crash)
  const e2 = recordDpSgdRound(client, 2, spend);
  const expected = (rounds: number) => new PrivacyAccountant().compose({ kind: 'poisson-sampled-gaussian', samplingRate: 0.05, noiseMultiplier: 1.2 }, 40 * rounds).epsilon(1e-5).epsilon;
  t.is(e1, expected(1));
  t.is(again, e1, 'a round already accounted is not composed again');
  t.is(e2, expected(2));
  t.deepEqual(marks.map((m) => [m.round, m.epsilon]), [[1, e1], [1, e1], [2, e2]]);
  t.true(e2 > e1);
  t.is(recordDpSgdRound(client, 3, { ...spend, noiseMultiplier: 0 }), Infinity);
  t.is(recordDpSgdRound(client, 4, spend), Infinity, 'once a round had no noise, there is no bound');
  t.false('epsilon' in marks[marks.length - 1]);
});

test('the ledger charges each (client, round) once, from the marks, even when a client lost its stored account', (t) => {
  const spend = { samplingRate: 0.1, noiseMultiplier: 1, steps: 20, clip: 1, delta: 1e-5, examples: 100 };
  const marks: Array<Record<string, unknown>> = [];
  const recorder = (storage: ActorStorage) => ({ storage, mark: (_: string, data?: Record<string, unknown>) => marks.push({ actor: 'alice', ...data }) });
  const disk = new ActorStorage();
  recordDpSgdRound(recorder(disk), 1, spend);
  recordDpSgdRound(recorder(disk), 2, spend);
  // alice crashes with loseStorage and trains round 2 again (its answer was lost), then round 3: her own account forgets round 1.
  const wiped = new ActorStorage();
  recordDpSgdRound(recorder(wiped), 2, spend);
  const own = recordDpSgdRound(recorder(wiped), 3, spend);
  const ledger = new DpSgdPrivacyLedger();
  let seq = 0;
  for (const data of marks) ledger.observe({ ev: 'mark', label: DP_SGD_MARK, data, seq: seq++, t: 0 } as never);
  ledger.observe({ ev: 'mark', label: 'something else', data: { actor: 'bob', round: 1 }, seq: seq++, t: 0 } as never);
  const threeRounds = new PrivacyAccountant().compose({ kind: 'poisson-sampled-gaussian', samplingRate: 0.1, noiseMultiplier: 1 }, 60).epsilon(1e-5).epsilon;
  const summary = ledger.summary()!;
  t.is(summary.epsilon, threeRounds, 'rounds 1, 2, 3: round 2 once');
  t.true(own < threeRounds, "the client's own account after losing its disk understates it");
  t.deepEqual(ledger.perClient().get('alice')!.rounds, [1, 2, 3]);
  t.is(summary.clients, 1);
  t.deepEqual(summary.perRound.map((p) => p.round), [1, 2, 3]);
});

test('a run with dpSgd: the same seed gives the same event log and weights; the worst client\'s ε is the accountant\'s for its rounds', async (t) => {
  const clients = tinyClients(5);
  const options = { ...tinyOptions('plain', clients), fraction: 0.6, dpSgd: { clip: 0.8, noiseMultiplier: 0.9, delta: 1e-4 } };
  const run = async () => {
    const sim = new SimulationCore({ seed: 11 });
    const result = await runFederated(sim, options);
    await sim.settle();
    return { sim, result };
  };
  const a = await run();
  const b = await run();
  t.is(a.sim.log.toJSONL(), b.sim.log.toJSONL());
  t.is(a.result.weightsSha256, b.result.weightsSha256);

  const marks = eventsOf(a.sim, 'mark').filter((m) => m.label === DP_SGD_MARK);
  const ledger = new DpSgdPrivacyLedger();
  for (const event of a.sim.log.events) ledger.observe(event);
  const summary = ledger.summary()!;
  // By hand: each client's rounds, each E·⌈n/B⌉ steps at q = B/n.
  const ids = clientIdsOf(clients);
  const byHand = ids.map((id, k) => {
    const rounds = new Set(marks.filter((m) => (m.data as { actor: string }).actor === id).map((m) => (m.data as { round: number }).round)).size;
    const n = clients[k].y.length;
    const accountant = new PrivacyAccountant().compose({ kind: 'poisson-sampled-gaussian', samplingRate: Math.min(1, 8 / n), noiseMultiplier: 0.9 }, rounds * Math.ceil(n / 8));
    return rounds === 0 ? 0 : accountant.epsilon(1e-4).epsilon;
  });
  t.is(summary.epsilon, Math.max(...byHand));
  t.is(summary.client, ids[byHand.indexOf(Math.max(...byHand))]);
  t.is(summary.delta, 1e-4);
  t.is(summary.perRound.length, 3);
  t.true(summary.perRound.every((p, i) => i === 0 || p.epsilon >= summary.perRound[i - 1].epsilon), 'ε never decreases');
  // Per-client figures never travel in the reports: the metrics the server aggregates carry no ε.
  t.false(a.sim.log.toJSONL().includes('"metrics":{"epsilon'));
});

test('under dpSgd the clients withhold their un-noised training loss (ε does not cover it): reports carry 0, the rounds show it as withheld', async (t) => {
  const clients = tinyClients(5);
  const sim = new SimulationCore({ seed: 12 });
  const result = await runFederated(sim, { ...tinyOptions('plain', clients), fraction: 0.6, dpSgd: { clip: 0.8, noiseMultiplier: 0.9, delta: 1e-4 } });
  await sim.settle();
  t.true(result.rounds.every((r) => Number.isNaN(r.trainLoss)), 'no round states a train loss');
  // Each client's stored answer is exactly what it reported.
  const answers = clientIdsOf(clients).map((id) => sim.actor(id).storage.get<StoredAnswer>(ANSWER_KEY)).filter((a) => a !== undefined);
  t.true(answers.length > 0);
  for (const answer of answers) {
    t.is(answer!.res.loss, 0);
    t.true(answer!.res.numSamples > 0, 'n_k is public under DP-SGD and still weights the mean');
  }
  // Without dpSgd the same run states its loss: the rule is DP-SGD's, not a change for every run.
  const plainSim = new SimulationCore({ seed: 12 });
  const plain = await runFederated(plainSim, { ...tinyOptions('plain', clients), fraction: 0.6 });
  t.true(plain.rounds.every((r) => Number.isFinite(r.trainLoss) && r.trainLoss > 0));
});

test('settings DP-SGD cannot run are refused before the run, naming the field', (t) => {
  const clients = tinyClients(3);
  const base = { ...tinyOptions('plain', clients), dpSgd };
  const refuse = (options: object, message: RegExp) => {
    const sim = new SimulationCore({ seed: 1 });
    const error = t.throws(() => runFederated(sim, options as never), { instanceOf: FlConfigError });
    t.regex(error!.message, message);
    t.deepEqual(sim.log.events.filter((e) => e.ev === 'spawned'), [], 'no actor was spawned');
  };
  refuse({ ...base, localTrainer: 'plan' }, /localTrainer.*a training Plan computes the batch's mean gradient, not per-example ones/);
  refuse({ ...base, dropLast: true }, /dropLast.*no last, smaller batch to drop/);
  const withNorm = fromLayers(
    tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 }), tf.layers.batchNormalization(), tf.layers.dense({ units: 2 })] }),
    createStream(1, 'model/init'),
  );
  refuse({ ...base, model: withNorm.spec }, /model\.topology\.config\.layers\.1.*BatchNormalization/);
  withNorm.dispose();
});

test('an experiment file with dpSgd runs reproducibly and states the worst client\'s ε in its results and on the privacy chart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-dp-sgd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'dp-sgd.yaml');
  writeFileSync(
    file,
    [
      'kind: fedavg',
      'seed: 3',
      'data: { source: synthetic, alpha: 1, beta: 1, devices: 4, features: 6, classes: 3, maxSamplesPerDevice: 40 }',
      'model: { kind: mlp, layers: [6, 5, 3] }',
      'rounds: 3',
      'localEpochs: 1',
      'batchSize: 5',
      'lr: 0.1',
      'dpSgd: { clip: 1.0, noiseMultiplier: 1.0 }',
      'expect: { maxSkippedRounds: 0 }',
    ].join('\n') + '\n',
  );
  const scenario = await loadScenario(file);
  const a = await runScenario<FedAvgExperimentResult>(scenario);
  t.true(a.ok, JSON.stringify(a.checks));
  const privacy = a.result!.sampleLevelPrivacy!;
  t.is(privacy.level, 'sample');
  t.is(privacy.delta, 1e-5);
  t.is(privacy.clients, 4);
  t.true(typeof privacy.epsilon === 'number' && privacy.epsilon > 0);
  const series = a.result!.metrics.find((m) => m.chart === 'privacy')!;
  t.deepEqual(series.points, privacy.perRound.map((p) => [p.round, p.epsilon]));
  const b = await runScenario<FedAvgExperimentResult>(scenario);
  t.is(b.sim.log.toJSONL(), a.sim.log.toJSONL());
  t.deepEqual(b.result!.sampleLevelPrivacy, privacy);

  writeFileSync(file, `kind: fedavg\ndata: { source: synthetic, alpha: 1, beta: 1, devices: 2 }\nmodel: { kind: logistic, inputs: 60, classes: 10 }\nrounds: 1\nlocalEpochs: 1\nbatchSize: 5\nlr: 0.1\ndpSgd: { clip: 1.0, noiseMultipler: 1.0 }\n`);
  await t.throwsAsync(loadScenario(file), { message: /noiseMultipler/ });
});
