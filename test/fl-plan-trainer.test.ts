/**
 * FedAvg with `localTrainer: 'plan'`: each client's E epochs run as a training Plan
 * (forward, loss, gradients, SGD update) looped by plan.train — it learns,
 * reproducibly; a round costs the same messages for 2 or 8 batches per epoch; its
 * update matches the direct trainer's; unsupported settings fail at config time.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { createStream } from '../src/runtime/rng.js';
import { SimulationCore, type SimEvent } from '../src/runtime/index.js';
import { syntheticFedProx } from '../src/fl/data/synthetic.js';
import { createModel, nn, type ModelSpec } from '../src/fl/models/index.js';
import { concatDatasets, evaluateModel } from '../src/fl/training/index.js';
import { FL, runFederated, type ClientData, type FederatedOptions } from '../src/fl/rounds/index.js';
import { FlConfigError } from '../src/fl/errors.js';
import { FedAvgExperimentSchema } from '../src/fl/experiments/fedavg-experiment.js';

test.before(async () => {
  await initBackend('cpu');
});

const devices = syntheticFedProx({ alpha: 0.5, beta: 0.5, devices: 4, features: 10, classes: 3, maxSamplesPerDevice: 60 }, { seed: 1, name: 'data' });
const clients: ClientData[] = devices.map((d) => ({ x: d.trainX, y: d.trainY, testX: d.testX, testY: d.testY }));
const testSet = concatDatasets(devices.map((d) => ({ x: d.testX, y: d.testY })));
const logistic = nn.logistic(10, 3);
const base: FederatedOptions = { model: logistic, clients, testSet, rounds: 3, localEpochs: 2, batchSize: 10, lr: 0.1, clientEvaluation: 'none', localTrainer: 'plan' };

/** n samples of d features, labels from a fixed linear teacher (argmax). */
function teacherData(n: number, d: number, classes: number, seed: number): ClientData {
  const rng = createStream(seed, 'teacher-data');
  const teacher = createStream(0, 'teacher');
  const w = Array.from({ length: d * classes }, () => teacher.uniform(-1, 1));
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = rng.uniform(-1, 1);
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < classes; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j] * w[j * classes + c];
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    y[i] = best;
  }
  return { x, y };
}

// Serial (serial tests run before the concurrent ones), so no other test holds tensors while this one counts them.
test.serial('FedAvg with the plan trainer raises test accuracy, and two runs with one seed give the same log and weights', async (t) => {
  const initial = createModel(logistic, createStream(5, 'model/init'));
  const before = evaluateModel(initial, testSet).accuracy!;
  initial.dispose();
  const once = async () => {
    const sim = new SimulationCore({ seed: 5 });
    const result = await runFederated(sim, base);
    await sim.settle();
    return { log: sim.log.toJSONL(), sha: result.weightsSha256, result };
  };
  const a = await once();
  const tensors = tf.memory().numTensors;
  const b = await once();
  t.is(tf.memory().numTensors, tensors, 'a run (plans included) leaves no tensor behind');
  const last = a.result.rounds.at(-1)!;
  t.is(a.result.rounds.length, 3);
  t.true(last.testAccuracy! > before + 0.1, `accuracy ${before} → ${last.testAccuracy}`);
  t.true(last.testLoss! < a.result.rounds[0].testLoss!);
  t.is(a.sha, b.sha);
  t.is(a.log, b.log);
});

test('a round costs the same number of messages for 2 and 8 batches per epoch', async (t) => {
  const perRound = async (n: number) => {
    const sim = new SimulationCore({ seed: 7 });
    const data = [0, 1, 2].map((i) => teacherData(n, 6, 2, 100 + i));
    await runFederated(sim, { model: nn.mlp([6, 5, 2]), clients: data, rounds: 3, localEpochs: 2, batchSize: 10, lr: 0.1, clientEvaluation: 'none', localTrainer: 'plan' });
    await sim.settle();
    // Messages sent between round marks (the server's round-end report closes each round).
    const counts: number[] = [];
    let count = 0;
    for (const e of sim.log.events as SimEvent[]) {
      if (e.ev !== 'sent') continue;
      count++;
      if (e.type === FL.roundEnd) {
        counts.push(count);
        count = 0;
      }
    }
    return counts;
  };
  const two = await perRound(20);
  const eight = await perRound(80);
  t.is(two.length, 3);
  t.log('messages per round', two, eight);
  t.true(two.every((c) => c > 0));
  t.deepEqual(two, eight);
});

for (const [label, spec] of [
  ['logistic', logistic],
  ['mlp', nn.mlp([10, 8, 3])],
] as Array<[string, ModelSpec]>) {
  test(`after one round the plan trainer's weights are within 1e-4 of the direct trainer's (${label}, SGD)`, async (t) => {
    const run = async (localTrainer: 'direct' | 'plan') => {
      const sim = new SimulationCore({ seed: 9 });
      return runFederated(sim, { ...base, model: spec, rounds: 1, localTrainer });
    };
    const direct = await run('direct');
    const plan = await run('plan');
    t.is(plan.weights.length, direct.weights.length);
    let worst = 0;
    plan.weights.forEach((w, i) => {
      t.is(w.length, direct.weights[i].length);
      for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs(w[j] - direct.weights[i][j]));
    });
    t.true(worst <= 1e-4, `max |Δw| = ${worst}`);
    t.is(plan.rounds[0].numSamples, direct.rounds[0].numSamples);
    t.true(Math.abs(plan.rounds[0].trainLoss - direct.rounds[0].trainLoss) < 1e-4, `${plan.rounds[0].trainLoss} vs ${direct.rounds[0].trainLoss}`);
    t.is(plan.virtualTime, direct.virtualTime, 'the same virtual cost');
  });
}

test('unsupported combinations fail at config time, naming what is unsupported and what to use', async (t) => {
  const sim = () => new SimulationCore({ seed: 1 });
  const cases: Array<[Partial<FederatedOptions>, RegExp]> = [
    [{ optimizer: { name: 'adam' } }, /localTrainer 'plan': optimizer \{"name":"adam"\} is not supported .*use optimizer 'sgd' without momentum, or use localTrainer: 'direct'/],
    [{ optimizer: { name: 'sgd', momentum: 0.9 } }, /optimizer .*momentum.* is not supported/],
    [{ model: nn.cnn({ inputShape: [4, 4, 1], filters: [2, 2], kernelSize: 3, hidden: 4, classes: 3 }) }, /model kind 'cnn' is not supported \(it supports linear, logistic, mlp\).*localTrainer: 'direct'/],
    [{ strategy: { name: 'fedprox', mu: 0.1 } }, /localTrainer: expected 'direct' for algorithm 'fedprox': it adds gradient terms at every local step, which a training Plan .*cannot, found 'plan'/],
    [{ loss: 'cross-entropy' }, /loss 'cross-entropy' is not supported for a 'logistic' model/],
  ];
  for (const [override, message] of cases) {
    const error = t.throws(() => runFederated(sim(), { ...base, ...override }), { instanceOf: FlConfigError });
    t.regex(error!.message, message);
  }
  const ok = await runFederated(sim(), { ...base, rounds: 1, optimizer: { name: 'sgd', momentum: 0 }, strategy: { name: 'fedprox', mu: 0 } });
  t.is(ok.rounds.length, 1, 'plain SGD and fedprox with mu 0 are fine');
});

test('fedavg experiments accept localTrainer', (t) => {
  const parsed = FedAvgExperimentSchema.parse({ data: { source: 'synthetic', alpha: 0, beta: 0 }, model: logistic, rounds: 1, localEpochs: 1, batchSize: 10, lr: 0.1, localTrainer: 'plan' });
  t.is(parsed.localTrainer, 'plan');
  t.is(FedAvgExperimentSchema.parse({ data: { source: 'synthetic', alpha: 0, beta: 0 }, model: logistic, rounds: 1, localEpochs: 1, batchSize: 10, lr: 0.1 }).localTrainer, 'direct');
});
