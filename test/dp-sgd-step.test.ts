/**
 * One DP-SGD step and its randomness: with σ = 0 and a huge C the private gradient is plain
 * SGD's; the noise has the stated variance and is Gaussian; Poisson sampling includes each
 * example with probability q; bad parameters are refused.
 *
 * The statistical tests run on fixed seeds, so they are deterministic: each threshold is set
 * so that a CORRECT implementation would fail it for a random seed with the stated
 * probability (the false-alarm rate), while the errors they guard against (a wrong scale, a
 * wrong divisor, a biased sampler) move the statistic far past it.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { createStream } from '../src/runtime/rng.js';
import { createModel, nn } from '../src/fl/models/index.js';
import { lossFunction } from '../src/fl/training/losses.js';
import { DpConfigError } from '../src/dp/errors.js';
import { GaussianNoise } from '../src/fl/training/dp-sgd/gaussian-noise.js';
import { layerProgram } from '../src/fl/training/dp-sgd/layer-program.js';
import { poissonBatch } from '../src/fl/training/dp-sgd/poisson-batches.js';
import { privateGradient } from '../src/fl/training/dp-sgd/private-gradient.js';

test.before(async () => {
  await initBackend('cpu');
});

/** z such that P(|N(0,1)| > z) = 1e-5: the two-sided threshold of the tests below. */
const Z_1E5 = 4.4172;

function batchFor(inputs: number, classes: number, size: number, seed: number) {
  const rng = createStream(seed, 'batch');
  const x = tf.tensor2d(Float32Array.from({ length: size * inputs }, () => rng.normal()), [size, inputs]);
  const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: size }, () => rng.int(classes)), 'int32'), classes).toFloat() as tf.Tensor2D;
  return { x, y };
}

test('with σ = 0 and a huge C, the private gradient is plain SGD\'s mean gradient on the same batch', (t) => {
  for (const spec of [nn.mlp([8, 6, 4]), nn.cnn({ inputShape: [6, 6, 1], filters: [2, 3], kernelSize: 3, hidden: 4, classes: 3 })]) {
    const model = createModel(spec, createStream(1, 'model/init'));
    tf.tidy(() => {
      const { x, y } = batchFor(model.inputSize, model.outputSize, 6, 2);
      const lossFn = lossFunction(model.loss);
      const { grads: plain } = tf.variableGrads(() => lossFn(y, model.forward(x)), model.trainable as tf.Variable[]);
      const noise = new GaussianNoise([1, 2, 3, 4]);
      const dp = privateGradient(layerProgram(model), model.trainable, { x, y }, lossFn, { clip: 1e9, noiseMultiplier: 0, expectedBatchSize: 6 }, noise);
      model.trainable.forEach((v, i) => {
        const a = dp.grads[i].dataSync();
        const b = plain[v.name].dataSync();
        const scale = Math.max(1e-3, ...Array.from(b, Math.abs));
        const worst = Math.max(...Array.from(a, (value, j) => Math.abs(value - b[j])));
        t.true(worst <= 1e-5 * scale, `${spec.kind} ${v.name}: max difference ${worst}`);
      });
    });
    model.dispose();
  }
});

test('an SGD step with the σ = 0, huge-C private gradient moves the weights as plain SGD does', (t) => {
  const model = createModel(nn.logistic(5, 3), createStream(3, 'model/init'));
  const twin = model.clone();
  tf.tidy(() => {
    const { x, y } = batchFor(5, 3, 4, 7);
    const lossFn = lossFunction(model.loss);
    const lr = 0.3;
    const dp = privateGradient(layerProgram(model), model.trainable, { x, y }, lossFn, { clip: 1e9, noiseMultiplier: 0, expectedBatchSize: 4 }, new GaussianNoise([5, 6, 7, 8]));
    model.trainable.forEach((v, i) => v.assign(tf.sub(v, tf.mul(dp.grads[i], lr))));
    const { grads } = tf.variableGrads(() => lossFn(y, twin.forward(x)), twin.trainable as tf.Variable[]);
    twin.trainable.forEach((v) => v.assign(tf.sub(v, tf.mul(grads[v.name], lr))));
  });
  const a = model.getWeights();
  const b = twin.getWeights();
  a.forEach((layer, l) => layer.forEach((value, j) => t.true(Math.abs(value - b[l][j]) < 1e-6, `weight ${l}[${j}]: ${value} vs ${b[l][j]}`)));
  model.dispose();
  twin.dispose();
});

test('GaussianNoise: mean 0 and variance std² (z-tests), and Gaussian (Kolmogorov–Smirnov), each at a false-alarm rate of 1e-5', (t) => {
  const n = 200_000;
  const std = 2.5;
  const draws = new GaussianNoise([0x9e3779b9, 0x7f4a7c15, 0xf39cc060, 0x5ced1aa3]).fill(new Float32Array(n), std);
  let sum = 0;
  let squares = 0;
  for (const v of draws) {
    sum += v;
    squares += v * v;
  }
  const mean = sum / n;
  t.true(Math.abs(mean) * Math.sqrt(n) / std < Z_1E5, `mean ${mean}`);
  // Σ v² / std² ~ χ²(n) ≈ N(n, 2n).
  const zVariance = (squares / (std * std) - n) / Math.sqrt(2 * n);
  t.true(Math.abs(zVariance) < Z_1E5, `variance ${squares / n} vs ${std * std} (z = ${zVariance})`);
  // KS on the first 20,000: D_crit = √(ln(2/α) / 2m) for α = 1e-5.
  const m = 20_000;
  const sorted = Float64Array.from(draws.subarray(0, m)).sort();
  let d = 0;
  sorted.forEach((v, i) => {
    const cdf = normalCdf(v / std);
    d = Math.max(d, Math.abs(cdf - i / m), Math.abs(cdf - (i + 1) / m));
  });
  t.true(d < Math.sqrt(Math.log(2 / 1e-5) / (2 * m)), `KS distance ${d}`);
});

test('GaussianNoise is a pure function of its seed; from(rng) draws its seed from the stream', (t) => {
  const a = GaussianNoise.from(createStream(5, 'n')).fill(new Float32Array(1001), 1);
  const b = GaussianNoise.from(createStream(5, 'n')).fill(new Float32Array(1001), 1);
  const c = GaussianNoise.from(createStream(6, 'n')).fill(new Float32Array(1001), 1);
  t.deepEqual(a, b);
  t.notDeepEqual(a, c);
  // All-zero seeds would freeze xoshiro's state at zero; the generator still draws.
  const z = new GaussianNoise([0, 0, 0, 0]).fill(new Float32Array(8), 1);
  t.true(new Set(z).size === 8);
});

test('an empty batch is a step of pure noise, N(0, (σC/E)²) in every coordinate (z-test at a false-alarm rate of 1e-5)', (t) => {
  const model = createModel(nn.mlp([60, 80, 10]), createStream(1, 'model/init'));
  const settings = { clip: 0.7, noiseMultiplier: 1.3, expectedBatchSize: 12.5 };
  const values = tf.tidy(() => {
    const dp = privateGradient(layerProgram(model), model.trainable, undefined, lossFunction(model.loss), settings, new GaussianNoise([11, 12, 13, 14]));
    t.is(dp.lossSum.dataSync()[0], 0);
    return tf.concat(dp.grads.map((g) => tf.reshape(g, [-1]))).dataSync() as Float32Array;
  });
  const n = values.length;
  t.is(n, 60 * 80 + 80 + 80 * 10 + 10);
  const std = (settings.noiseMultiplier * settings.clip) / settings.expectedBatchSize;
  const squares = values.reduce((s, v) => s + v * v, 0);
  const z = (squares / (std * std) - n) / Math.sqrt(2 * n);
  t.true(Math.abs(z) < Z_1E5, `variance ${squares / n} vs ${std * std} (z = ${z})`);
  model.dispose();
});

test('Poisson sampling includes each example with probability q, independently (z-tests at a family-wise false-alarm rate of 1e-4)', (t) => {
  const n = 40;
  const q = 0.15;
  const trials = 5000;
  const rng = createStream(9, 'poisson');
  const counts = new Array<number>(n).fill(0);
  const sizes: number[] = [];
  for (let k = 0; k < trials; k++) {
    const batch = poissonBatch(n, q, rng);
    for (let i = 1; i < batch.length; i++) t.true(batch[i] > batch[i - 1]);
    for (const i of batch) counts[i]++;
    sizes.push(batch.length);
  }
  // Per index z < 4.9 (two-sided 9.6e-7 each, 3.8e-5 over the 40); with the size tests below the family stays under 1e-4.
  const sd = Math.sqrt(trials * q * (1 - q));
  counts.forEach((c, i) => t.true(Math.abs(c - trials * q) / sd < 4.9, `example ${i} drawn ${c} times, expected ${trials * q}`));
  // Batch sizes are Binomial(n, q): mean n·q, and variance n·q·(1 − q) only if the inclusions are independent
  // (the variance estimate's relative sd is ≈ √(2/trials) = 0.02, so 0.15 is a 7-sd margin).
  const meanSize = sizes.reduce((a, b) => a + b, 0) / trials;
  t.true(Math.abs(meanSize - n * q) / Math.sqrt((n * q * (1 - q)) / trials) < Z_1E5, `mean batch size ${meanSize}`);
  const variance = sizes.reduce((s, v) => s + (v - n * q) ** 2, 0) / trials;
  t.true(Math.abs(variance / (n * q * (1 - q)) - 1) < 0.15, `batch size variance ${variance} vs ${n * q * (1 - q)}`);
  t.deepEqual(poissonBatch(5, 1, rng), [0, 1, 2, 3, 4]);
  t.deepEqual(poissonBatch(0, 0.5, rng), []);
});

test('bad step parameters are refused with DpConfigError naming the parameter and its value', (t) => {
  const model = createModel(nn.logistic(3, 2), createStream(1, 'model/init'));
  const program = layerProgram(model);
  const noise = new GaussianNoise([1, 1, 1, 1]);
  const cases: Array<[Record<string, number>, string, RegExp]> = [
    [{ clip: 0 }, 'clip', /clip must be a finite number > 0/],
    [{ clip: -2 }, 'clip', /got -2/],
    [{ noiseMultiplier: -0.5 }, 'noiseMultiplier', /noiseMultiplier must be a finite number ≥ 0.*got -0.5/],
    [{ noiseMultiplier: NaN }, 'noiseMultiplier', /got NaN/],
    [{ expectedBatchSize: 0 }, 'expectedBatchSize', /expectedBatchSize must be a finite number > 0/],
  ];
  for (const [override, field, message] of cases) {
    const settings = { clip: 1, noiseMultiplier: 1, expectedBatchSize: 2, ...override };
    const error = t.throws(
      () =>
        tf.tidy(() => {
          privateGradient(program, model.trainable, undefined, lossFunction(model.loss), settings, noise);
        }),
      { instanceOf: DpConfigError },
    );
    t.regex(error!.message, message);
    t.is((error as DpConfigError).where.field, field);
  }
  for (const q of [0, -0.1, 1.5, NaN]) t.throws(() => poissonBatch(10, q, createStream(1, 'p')), { instanceOf: DpConfigError, message: /q must be a number in \(0, 1\]/ });
  t.throws(() => poissonBatch(-1, 0.5, createStream(1, 'p')), { instanceOf: DpConfigError, message: /n must be an integer ≥ 0/ });
  model.dispose();
});

/** Φ(x), from erf by the Abramowitz–Stegun 7.1.26 formula (|error| < 1.5e-7, far below the KS threshold). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const k = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * k - 1.453152027) * k + 1.421413741) * k - 0.284496736) * k + 0.254829592) * k * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
