/**
 * Local training: losses, optimisers (hand values), FedProx, determinism, memory.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { createStream } from '../src/runtime/rng.js';
import { syntheticFedProx } from '../src/fl/data/synthetic.js';
import { createModel, l2Distance, nn, weightsSha256 } from '../src/fl/models/index.js';
import { createOptimizer, evaluateModel, softmaxCrossEntropy, trainLocal, type Dataset } from '../src/fl/training/index.js';

test.before(async () => {
  await initBackend('cpu');
});

const device = syntheticFedProx({ alpha: 1, beta: 1, devices: 1, features: 12, classes: 4, maxSamplesPerDevice: 120 }, { seed: 5, name: 'data' })[0];
const train: Dataset = { x: device.trainX, y: device.trainY };
const spec = nn.logistic(12, 4);

test('softmax cross-entropy: hand-written gradient equals tfjs autodiff of its own loss', (t) => {
  const logits = tf.tensor2d([[1, -2, 0.5], [0.1, 0.2, 3], [-1, 4, 0]]);
  const targets = tf.oneHot(tf.tensor1d([2, 0, 1], 'int32'), 3).toFloat() as tf.Tensor2D;
  const ours = tf.valueAndGrad((z: tf.Tensor) => softmaxCrossEntropy(targets, z as tf.Tensor2D))(logits);
  const theirs = tf.valueAndGrad((z: tf.Tensor) => tf.losses.softmaxCrossEntropy(targets, z) as tf.Scalar)(logits);
  t.true(Math.abs(ours.value.dataSync()[0] - theirs.value.dataSync()[0]) < 1e-6);
  const a = ours.grad.dataSync();
  const b = theirs.grad.dataSync();
  a.forEach((v, i) => t.true(Math.abs(v - b[i]) < 1e-6));
  tf.dispose([logits, targets, ours.value, ours.grad, theirs.value, theirs.grad]);
});

test('softmax cross-entropy stays finite, with exact gradients, for extreme logits', (t) => {
  const logits = tf.tensor2d([[200, -200, 0], [0, 0, 0]]);
  const targets = tf.oneHot(tf.tensor1d([1, 2], 'int32'), 3).toFloat() as tf.Tensor2D;
  const { value, grad } = tf.valueAndGrad((z: tf.Tensor) => softmaxCrossEntropy(targets, z as tf.Tensor2D))(logits);
  const loss = value.dataSync()[0];
  // sample 0: p_label underflows, clipped at 1e-30 → 69.08; sample 1: log 3
  t.true(Math.abs(loss - (-Math.log(1e-30) + Math.log(3)) / 2) < 1e-3, `${loss}`);
  const g = Array.from(grad.dataSync());
  [0.5, -0.5, 0, 1 / 6, 1 / 6, -1 / 3].forEach((v, i) => t.true(Math.abs(g[i] - v) < 1e-6, `grad[${i}] = ${g[i]}`));
  tf.dispose([logits, targets, value, grad]);
});

/** Runs `steps` optimiser steps on w = [1] with constant gradient 1; returns w after each. */
function trajectory(config: Parameters<typeof createOptimizer>[0], lr: number, steps: number): number[] {
  const w = tf.variable(tf.tensor1d([1]));
  const g = tf.tensor1d([1]);
  const opt = createOptimizer(config, lr);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    opt.step([w], [g]);
    out.push(w.dataSync()[0]);
  }
  opt.dispose();
  tf.dispose([w, g]);
  return out;
}

test('optimisers follow their formulas (w₀ = 1, g = 1, η = 0.1)', (t) => {
  const near = (a: number[], b: number[]) => a.forEach((v, i) => t.true(Math.abs(v - b[i]) < 1e-6, `${a} vs ${b}`));
  near(trajectory('sgd', 0.1, 2), [0.9, 0.8]);
  // momentum 0.9: v1 = 1, w1 = 0.9; v2 = 0.9 + 1 = 1.9, w2 = 0.9 − 0.19 = 0.71
  near(trajectory({ name: 'sgd', momentum: 0.9 }, 0.1, 2), [0.9, 0.71]);
  // Nesterov: v1 = 1, step g + μv = 1.9 → 0.81; v2 = 1.9, step 1 + 0.9·1.9 = 2.71 → 0.539
  near(trajectory({ name: 'sgd', momentum: 0.9, nesterov: true }, 0.1, 2), [0.81, 0.539]);
  // Adam with a constant gradient: m̂ = v̂ = 1 every step, so each step moves η/(1 + ε)
  near(trajectory({ name: 'adam' }, 0.1, 3), [0.9, 0.8, 0.7]);
  t.throws(() => createOptimizer({ name: 'rmsprop' } as never, 0.1), { message: /not an optimizer/ });
});

test('local training lowers the loss', (t) => {
  const model = createModel(spec, createStream(1, 'init'));
  const before = evaluateModel(model, train).loss;
  const result = trainLocal(model, train, { epochs: 10, batchSize: 10, lr: 0.05 }, createStream(1, 'shuffle'));
  const after = evaluateModel(model, train).loss;
  t.true(after < before * 0.7, `${before} → ${after}`);
  t.is(result.numSamples, device.nTrain);
  t.is(result.steps, 10 * Math.ceil(device.nTrain / 10));
  t.is(result.samplesSeen, 10 * device.nTrain);
  t.true(result.meanLoss > 0 && result.meanLoss < before);
  model.dispose();
});

test('tf.memory().numTensors is the same before and after hundreds of steps, with every optimiser and FedProx', (t) => {
  const model = createModel(nn.mlp([12, 8, 4]), createStream(1, 'init'));
  const before = tf.memory().numTensors;
  for (const optimizer of ['sgd', { name: 'sgd', momentum: 0.9 }, { name: 'adam' }] as const) {
    const r = trainLocal(model, train, { epochs: 5, batchSize: 8, lr: 0.01, optimizer, proxMu: 0.1 }, createStream(1, 'shuffle'));
    t.true(r.steps > 50);
    t.is(tf.memory().numTensors, before);
  }
  t.throws(() => trainLocal(model, { x: train.x, y: new Int32Array(3) }, { epochs: 1, batchSize: 8, lr: 0.01 }, createStream(1, 's')), { message: /one Int32Array class index per sample/ });
  t.is(tf.memory().numTensors, before, 'a failed call leaves nothing behind either');
  model.dispose();
});

test('training is a function of the seeds: same shuffle stream, same weights; another stream, other weights', (t) => {
  const run = (shuffleSeed: number) => {
    const model = createModel(spec, createStream(1, 'init'));
    const r = trainLocal(model, train, { epochs: 2, batchSize: 5, lr: 0.05 }, createStream(shuffleSeed, 'shuffle'));
    model.dispose();
    return weightsSha256(r.weights);
  };
  t.is(run(1), run(1));
  t.not(run(1), run(2));
});

test('FedProx: μ > 0 keeps the local model closer to the global one than μ = 0', (t) => {
  const distance = (mu: number) => {
    const model = createModel(spec, createStream(1, 'init'));
    const global = model.getWeights();
    const r = trainLocal(model, train, { epochs: 10, batchSize: 10, lr: 0.05, proxMu: mu, globalWeights: global }, createStream(1, 'shuffle'));
    model.dispose();
    return l2Distance(r.weights, global);
  };
  const free = distance(0);
  const prox = distance(1);
  const tight = distance(10);
  t.true(prox < free, `μ=1: ${prox} vs μ=0: ${free}`);
  t.true(tight < prox, `μ=10: ${tight} vs μ=1: ${prox}`);
});

test('one full-batch SGD step on MSE equals the closed-form gradient', (t) => {
  const model = createModel(nn.linear(2, 1), createStream(1, 'init'));
  model.setWeights([Float32Array.from([0.5, -0.25]), Float32Array.from([0.1])]);
  const X = [[1, 2], [3, -1], [0, 1]];
  const y = [1, 0, 2];
  const data = { x: Float32Array.from(X.flat()), y: Float32Array.from(y) };
  trainLocal(model, data, { epochs: 1, batchSize: 3, lr: 0.1 }, createStream(1, 's'));
  // r_i = x_i·w + b − y_i; ∂L/∂w = (2/n) Σ r_i x_i; ∂L/∂b = (2/n) Σ r_i
  const r = X.map((x, i) => x[0] * 0.5 - x[1] * 0.25 + 0.1 - y[i]);
  const gw = [0, 1].map((j) => (2 / 3) * r.reduce((s, ri, i) => s + ri * X[i][j], 0));
  const gb = (2 / 3) * r.reduce((s, ri) => s + ri, 0);
  const [w, b] = model.getWeights();
  t.true(Math.abs(w[0] - (0.5 - 0.1 * gw[0])) < 1e-6);
  t.true(Math.abs(w[1] - (-0.25 - 0.1 * gw[1])) < 1e-6);
  t.true(Math.abs(b[0] - (0.1 - 0.1 * gb)) < 1e-6);
  model.dispose();
});

test('dropLast skips the short last batch', (t) => {
  const model = createModel(spec, createStream(1, 'init'));
  const r = trainLocal(model, train, { epochs: 1, batchSize: 7, lr: 0.01, dropLast: true }, createStream(1, 's'));
  t.is(r.steps, Math.floor(device.nTrain / 7));
  t.is(r.samplesSeen, Math.floor(device.nTrain / 7) * 7);
  model.dispose();
});

test('the MLP and the CNN learn a tiny image problem (gradients flow through conv, pool and dense layers)', (t) => {
  // 8×8 images: class 0 has a bright left half, class 1 a bright right half.
  const n = 40;
  const x = new Float32Array(n * 64);
  const y = new Int32Array(n);
  const noise = createStream(1, 'pixels');
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) x[i * 64 + r * 8 + c] = ((c < 4) === (y[i] === 0) ? 1 : 0) + noise.uniform(-0.3, 0.3);
  }
  for (const spec of [nn.mlp([64, 16, 2]), nn.cnn({ inputShape: [8, 8, 1], filters: [4, 4], hidden: 8, classes: 2 })]) {
    const model = createModel(spec, createStream(2, 'init'));
    const before = evaluateModel(model, { x, y });
    trainLocal(model, { x, y }, { epochs: 8, batchSize: 8, lr: 0.1 }, createStream(2, 'shuffle'));
    const after = evaluateModel(model, { x, y });
    t.true(after.loss < before.loss * 0.5, `${spec.kind}: loss ${before.loss} → ${after.loss}`);
    t.is(after.accuracy, 1, spec.kind);
    model.dispose();
  }
});
