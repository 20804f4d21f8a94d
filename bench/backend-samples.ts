/**
 * Training throughput (samples/s) per compute backend, to back the choice of
 * wasm over cpu with numbers. Wall-clock is fine here, never in tests.
 *
 *   npx tsx bench/backend-samples.ts [secondsPerCase=1.5]
 *
 * Models: MLP 784-200-200-10 (the FedAvg MNIST MLP), the tiny CNN of the tests
 * at MNIST size (conv 5x5x1→4, relu, maxPool 2, dense 10), and a LeNet-sized
 * CNN (conv 5x5→32, pool, conv 5x5→64, pool, dense 10) where the JS
 * Conv2DBackpropFilter does real work. Data and weights come from fixed
 * formulas, so every backend trains the same numbers.
 */
import * as tf from '@tensorflow/tfjs';
import { performance } from 'node:perf_hooks';
import { initBackend, type BackendName } from '../src/runtime/backend.js';

const secondsPerCase = Number(process.argv[2] ?? 1.5);

const wave = (n: number, k: number, scale: number) =>
  Float32Array.from({ length: n }, (_, i) => scale * Math.sin(k * i + 0.3));

/** A model is its variables plus a loss over one batch. */
interface Model {
  vars: tf.Variable[];
  loss(x: tf.Tensor, y: tf.Tensor): tf.Scalar;
}

/** Weights scaled like Glorot so training stays numerically tame. */
function weight(shape: number[], fanIn: number, fanOut: number, k: number): tf.Variable {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.variable(tf.tensor(wave(n, k, Math.sqrt(6 / (fanIn + fanOut))), shape));
}

function mlp(): Model {
  const vars = [
    weight([784, 200], 784, 200, 0.71),
    tf.variable(tf.zeros([200])),
    weight([200, 200], 200, 200, 0.53),
    tf.variable(tf.zeros([200])),
    weight([200, 10], 200, 10, 0.37),
    tf.variable(tf.zeros([10])),
  ];
  const [w1, b1, w2, b2, w3, b3] = vars;
  return {
    vars,
    loss: (x, y) => {
      const flat = x.reshape([x.shape[0], 784]) as tf.Tensor2D;
      const h1 = tf.relu(flat.matMul(w1).add(b1)) as tf.Tensor2D;
      const h2 = tf.relu(h1.matMul(w2).add(b2)) as tf.Tensor2D;
      return tf.losses.softmaxCrossEntropy(y, h2.matMul(w3).add(b3)) as tf.Scalar;
    },
  };
}

function tinyCnn(): Model {
  const vars = [
    weight([5, 5, 1, 4], 25, 100, 0.7),
    tf.variable(tf.zeros([4])),
    weight([12 * 12 * 4, 10], 576, 10, 0.53),
    tf.variable(tf.zeros([10])),
  ];
  const [k, kb, w, b] = vars;
  return {
    vars,
    loss: (x, y) => {
      const h = tf.relu(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'valid').add<tf.Tensor4D>(kb));
      const p = tf.maxPool(h, 2, 2, 'valid').reshape([x.shape[0], 576]) as tf.Tensor2D;
      return tf.losses.softmaxCrossEntropy(y, p.matMul(w).add(b)) as tf.Scalar;
    },
  };
}

function lenet(): Model {
  const vars = [
    weight([5, 5, 1, 32], 25, 800, 0.7),
    tf.variable(tf.zeros([32])),
    weight([5, 5, 32, 64], 800, 1600, 0.61),
    tf.variable(tf.zeros([64])),
    weight([4 * 4 * 64, 10], 1024, 10, 0.53),
    tf.variable(tf.zeros([10])),
  ];
  const [k1, b1, k2, b2, w, b] = vars;
  return {
    vars,
    loss: (x, y) => {
      const c1 = tf.relu(tf.conv2d(x as tf.Tensor4D, k1 as tf.Tensor4D, 1, 'valid').add<tf.Tensor4D>(b1));
      const p1 = tf.maxPool(c1, 2, 2, 'valid');
      const c2 = tf.relu(tf.conv2d(p1, k2 as tf.Tensor4D, 1, 'valid').add<tf.Tensor4D>(b2));
      const p2 = tf.maxPool(c2, 2, 2, 'valid').reshape([x.shape[0], 1024]) as tf.Tensor2D;
      return tf.losses.softmaxCrossEntropy(y, p2.matMul(w).add(b)) as tf.Scalar;
    },
  };
}

/** Times SGD steps for about `secondsPerCase`, after a warm-up. */
function measure(make: () => Model, batch: number): { samplesPerSecond: number; msPerStep: number } {
  const model = make();
  const x = tf.tensor4d(wave(batch * 784, 1.3, 1), [batch, 28, 28, 1]);
  const labels = Int32Array.from({ length: batch }, (_, i) => (i * 7) % 10);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
  const opt = tf.train.sgd(0.05);
  const step = () => opt.minimize(() => model.loss(x, y), false, model.vars);
  for (let i = 0; i < 3; i++) step();
  let steps = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < secondsPerCase * 1000 || steps < 3) {
    step();
    steps++;
    elapsed = performance.now() - start;
  }
  tf.dispose([x, y, ...model.vars]);
  opt.dispose();
  return { samplesPerSecond: (steps * batch * 1000) / elapsed, msPerStep: elapsed / steps };
}

const cases: { model: string; make: () => Model; batch: number; backends: BackendName[] }[] = [
  { model: 'MLP 784-200-200-10', make: mlp, batch: 10, backends: ['wasm', 'cpu'] },
  { model: 'MLP 784-200-200-10', make: mlp, batch: 64, backends: ['wasm', 'cpu'] },
  { model: 'tiny CNN (conv4)', make: tinyCnn, batch: 10, backends: ['wasm', 'cpu'] },
  { model: 'tiny CNN (conv4)', make: tinyCnn, batch: 64, backends: ['wasm', 'cpu'] },
  { model: 'LeNet CNN (conv32-conv64)', make: lenet, batch: 10, backends: ['wasm'] },
  // cpu needs ~45 s per LeNet step at batch 64 (its conv kernels are naive JS).
  { model: 'LeNet CNN (conv32-conv64)', make: lenet, batch: 64, backends: ['wasm'] },
];

const rows: string[][] = [];
for (const c of cases) {
  const rates: Record<string, number> = {};
  for (const backend of c.backends) {
    await initBackend(backend);
    const r = measure(c.make, c.batch);
    rates[backend] = r.samplesPerSecond;
    rows.push([c.model, String(c.batch), backend, r.samplesPerSecond.toFixed(0), r.msPerStep.toFixed(1), '']);
  }
  if (rates.wasm && rates.cpu) rows[rows.length - 1][5] = `wasm ${(rates.wasm / rates.cpu).toFixed(1)}x`;
}

const header = ['model', 'batch', 'backend', 'samples/s', 'ms/step', 'speed-up'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => cells.map((v, i) => v.padEnd(widths[i])).join('  ');
console.log(`node ${process.version}, ${secondsPerCase}s per case`);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
