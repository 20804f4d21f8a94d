/**
 * Federated data (seed 002 §1.4): `federate` spreads contiguous ⌈n/k⌉-row chunks over
 * the workers as PySyft does; FederatedDataLoader yields batches in PySyft's order,
 * made on the workers, shuffled by each worker's own seeded stream; and a small
 * MNIST-like training loop over the loader (IDX files written and read back) ends
 * with the weights that the same loop computes locally.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createStream } from '../src/runtime/rng.js';
import { rt, RemoteSGD, type PointerTensor, type Simulation } from '../src/index.js';
import { BaseDataset, createModel, FederatedDataLoader, loadMnistLike, type Model, nn } from '../src/fl/index.js';
import { writeIdx } from '../src/fl/data/idx.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

/** Rows 0…n−1 as data (row i = [i, i + 0.5]) and targets (i), so a batch shows which rows it holds. */
function numbered(n: number): BaseDataset {
  return new BaseDataset(
    tf.tensor2d(Array.from({ length: n }, (_, i) => [i, i + 0.5])),
    tf.tensor1d(Array.from({ length: n }, (_, i) => i), 'int32'),
  );
}

function disposeLocal(dataset: BaseDataset): void {
  tf.dispose([dataset.data, dataset.targets]);
}

/** The row numbers a batch holds (read without removing the batch: a copy is fetched). */
async function rowsOf(pointer: PointerTensor): Promise<number[]> {
  const t = await pointer.copy().get();
  const rows = t.rank === 2 ? (t.arraySync() as number[][]).map((r) => r[0]) : (t.arraySync() as number[]);
  t.dispose();
  return rows;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

test.serial('federate: contiguous chunks of ⌈n/k⌉ rows, chunk i to workers[i mod k]; with small n the last workers get nothing', async (t) => {
  const sim = simulation();
  const [bob, alice, carol, dave] = ['bob', 'alice', 'carol', 'dave'].map((id) => sim.worker(id));
  const cases: Array<[number, number, number[][]]> = [
    [10, 3, [range(0, 4), range(4, 8), range(8, 10)]],
    [9, 4, [range(0, 3), range(3, 6), range(6, 9)]], // ⌈9/4⌉ = 3: three chunks, dave gets none
    [4, 2, [range(0, 2), range(2, 4)]],
  ];
  for (const [n, k, expected] of cases) {
    const local = numbered(n);
    const workers = [bob, alice, carol, dave].slice(0, k);
    const fd = local.federate(workers);
    t.deepEqual(fd.workers, workers.slice(0, expected.length).map((w) => w.id), `n=${n}, k=${k}: workers`);
    t.is(fd.length, n);
    for (const [i, rows] of expected.entries()) {
      const part = fd.get(workers[i].id);
      t.is(part.length, rows.length);
      t.deepEqual(await rowsOf(part.data), rows, `n=${n}, k=${k}: chunk ${i} on ${workers[i].id}`);
      t.deepEqual(await rowsOf(part.targets), rows);
      t.is(part.location, workers[i]);
    }
    fd.dispose();
    disposeLocal(local);
  }
  const one = numbered(1);
  t.regex(String(one.federate([bob])), /FederatedDataset\n {4}Distributed across: bob\n {4}Number of datapoints: 1/);
  disposeLocal(one);
  await Promise.all([bob, alice, carol, dave].map((w) => w.clearObjects()));
});

async function epochRows(loader: FederatedDataLoader<false>): Promise<Array<[string, number[]]>> {
  const out: Array<[string, number[]]> = [];
  for (const [data, target] of loader) {
    const rows = await rowsOf(data);
    const targets = await rowsOf(target);
    if (rows.join() !== targets.join()) throw new Error(`data rows ${rows} but target rows ${targets}`);
    out.push([data.location.id, rows]);
  }
  return out;
}

test.serial('FederatedDataLoader: exhausts one worker, then the next; the last batch of each is smaller unless dropLast', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const local = numbered(10); // bob rows 0–4, alice rows 5–9
  const fd = local.federate([bob, alice]);
  const loader = new FederatedDataLoader(fd, { batchSize: 2 });
  t.is(loader.length, 6);
  t.deepEqual(await epochRows(loader), [
    ['bob', [0, 1]], ['bob', [2, 3]], ['bob', [4]],
    ['alice', [5, 6]], ['alice', [7, 8]], ['alice', [9]],
  ]);
  const dropping = new FederatedDataLoader(fd, { batchSize: 2, dropLast: true });
  t.is(dropping.length, 4);
  t.deepEqual(await epochRows(dropping), [['bob', [0, 1]], ['bob', [2, 3]], ['alice', [5, 6]], ['alice', [7, 8]]]);
  await sim.settle();
  t.deepEqual([(await bob.listObjects()).size, (await alice.listObjects()).size], [2, 2], 'every batch was deleted as the loop moved on: only the data is left');
  fd.dispose();
  disposeLocal(local);
});

test.serial('iterPerWorker: one batch per worker per step, as a Map, until the first worker runs out', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const local = numbered(9); // ⌈9/2⌉ = 5: bob rows 0–4 (3 batches of 2), alice rows 5–8 (2 batches)
  const fd = local.federate([bob, alice]);
  const loader = new FederatedDataLoader(fd, { batchSize: 2, iterPerWorker: true });
  t.is(loader.length, 2);
  const steps: Array<Record<string, number[]>> = [];
  for (const batches of loader) {
    t.true(batches instanceof Map);
    const step: Record<string, number[]> = {};
    for (const [worker, [data]] of batches) step[worker] = await rowsOf(data);
    steps.push(step);
  }
  t.deepEqual(steps, [{ bob: [0, 1], alice: [5, 6] }, { bob: [2, 3], alice: [7, 8] }]);
  fd.dispose();
  disposeLocal(local);
  await sim.settle();
});

/** The order a worker's `shuffle` stream gives its rows, epoch after epoch (reproduced here, independently of the worker). */
function workerOrders(seed: number, worker: string, rows: number, epochs: number): number[][] {
  const rng = createStream(seed, `actor/${worker}/shuffle`);
  return Array.from({ length: epochs }, () => rng.shuffle(range(0, rows)));
}

async function shuffledEpochs(sim: Simulation, epochs: number): Promise<Array<Array<[string, number[]]>>> {
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const local = numbered(12);
  const fd = local.federate([bob, alice]);
  disposeLocal(local);
  const loader = new FederatedDataLoader(fd, { batchSize: 4, shuffle: true });
  const out = [];
  for (let e = 0; e < epochs; e++) out.push(await epochRows(loader));
  fd.dispose();
  await sim.settle();
  return out;
}

test.serial("shuffle: each worker's rows in the order its own stream (actor/<worker>/shuffle) draws, anew every epoch", async (t) => {
  const sim = simulation({ seed: 11 });
  const epochs = await shuffledEpochs(sim, 2);
  const bobOrders = workerOrders(11, 'bob', 6, 2);
  const aliceOrders = workerOrders(11, 'alice', 6, 2).map((order) => order.map((i) => i + 6));
  for (let e = 0; e < 2; e++) {
    t.deepEqual(epochs[e], [
      ['bob', bobOrders[e].slice(0, 4)], ['bob', bobOrders[e].slice(4)],
      ['alice', aliceOrders[e].slice(0, 4)], ['alice', aliceOrders[e].slice(4)],
    ]);
  }
  t.notDeepEqual(bobOrders[0], bobOrders[1], 'a new order every epoch');
  t.deepEqual((await Promise.all(sim.workers.map(async (w) => (await w.listObjects()).size))), [0, 0], 'permutations and batches were deleted');
});

test.serial('shuffle is deterministic per seed: same seed, same batches and the same event log; another seed, another order', async (t) => {
  const [a, b, c] = [simulation({ seed: 5 }), simulation({ seed: 5 }), simulation({ seed: 6 })];
  const [ea, eb, ec] = [await shuffledEpochs(a, 2), await shuffledEpochs(b, 2), await shuffledEpochs(c, 2)];
  t.deepEqual(ea, eb);
  t.is(a.log.toJSONL(), b.log.toJSONL());
  t.notDeepEqual(ea, ec);
});

test.serial('breaking out of a loop deletes the current batch and the permutation; keepBatches leaves the batches to the caller', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const local = numbered(8);
  const fd = local.federate([bob]);
  disposeLocal(local);
  for (const [data] of new FederatedDataLoader(fd, { batchSize: 3, shuffle: true })) {
    t.deepEqual(data.shape, [3, 2], 'batches know their shape');
    break;
  }
  await sim.settle();
  t.is((await bob.listObjects()).size, 2, 'only the data');
  const kept: PointerTensor[] = [];
  for (const [data, target] of new FederatedDataLoader(fd, { batchSize: 3, keepBatches: true })) kept.push(data, target);
  await sim.settle();
  t.is((await bob.listObjects()).size, 2 + 6);
  t.deepEqual(await rowsOf(kept[4]), [6, 7]);
  sim.disposeAll(kept);
  fd.dispose();
  await sim.settle();
  t.is((await bob.listObjects()).size, 0);
});

// ── seed 002 §1.4: MNIST-like training over the loader ───────────────────────

const SIDE = 4;
const CLASSES = 3;

/** 30 tiny 4×4 "digits" of 3 classes (a bright row per class, plus seeded noise), written as MNIST IDX files. */
function writeTinyMnist(dir: string): void {
  const rng = createStream(3, 'tiny-mnist');
  const n = 30;
  const images = new Uint8Array(n * SIDE * SIDE);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % CLASSES;
    labels[i] = label;
    for (let p = 0; p < SIDE * SIDE; p++) {
      const bright = Math.floor(p / SIDE) === label;
      images[i * SIDE * SIDE + p] = Math.round(bright ? 200 + rng.uniform(0, 55) : rng.uniform(0, 60));
    }
  }
  writeIdx(join(dir, 'train-images-idx3-ubyte'), images, [n, SIDE, SIDE]);
  writeIdx(join(dir, 'train-labels-idx1-ubyte'), labels, [n]);
}

/** F.nll_loss(F.log_softmax(output), target), computed where the batch is. */
const nllLoss = (output: PointerTensor, target: PointerTensor) => rt.neg(rt.mean(rt.sum(rt.mul(rt.logSoftmax(output), rt.cast(rt.oneHot(target, CLASSES), 'float32')), 1)));

async function trainFederated(sim: Simulation, images: tf.Tensor2D, labels: tf.Tensor1D, epochs: number) {
  const bob = sim.worker('bob');
  const alice = sim.worker('alice');
  const fd = new BaseDataset(images, labels).federate([bob, alice]);
  const loader = new FederatedDataLoader(fd, { batchSize: 4, shuffle: true });
  let model: Model = createModel(nn.logistic(SIDE * SIDE, CLASSES), sim.rng('model/init'));
  const initial = model.getWeights();
  const losses: number[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const [data, target] of loader) {
      const remote = model.send(data.location); // send the model to the right location
      const optimizer = new RemoteSGD(remote, { lr: 0.5 });
      optimizer.zeroGrad();
      const loss = sim.tidy(() => nllLoss(remote.forward(data), target));
      loss.backward();
      optimizer.step();
      model.dispose();
      model = await remote.get(); // get the model back
      optimizer.dispose();
      const value = await loss.get();
      losses.push(value.dataSync()[0]);
      value.dispose();
    }
  }
  const weights = model.getWeights();
  model.dispose();
  fd.dispose();
  await sim.settle();
  return { initial, weights, losses, left: (await bob.listObjects()).size + (await alice.listObjects()).size };
}

/** The same loop, locally: the same batches in the same order (the workers' streams, reproduced), tfjs SGD. */
function trainLocally(seed: number, images: tf.Tensor2D, labels: tf.Tensor1D, initial: Float32Array[], epochs: number, fd: { bob: number[]; alice: number[] }) {
  const [w0, b0] = [tf.tensor2d(initial[0], [SIDE * SIDE, CLASSES]), tf.tensor1d(initial[1])];
  const [w, b] = [tf.variable(w0), tf.variable(b0)];
  tf.dispose([w0, b0]);
  const streams = { bob: createStream(seed, 'actor/bob/shuffle'), alice: createStream(seed, 'actor/alice/shuffle') };
  const losses: number[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const worker of ['bob', 'alice'] as const) {
      const rows = fd[worker];
      const order = streams[worker].shuffle(range(0, rows.length)).map((i) => rows[i]);
      for (let start = 0; start < order.length; start += 4) {
        const idx = tf.tensor1d(order.slice(start, start + 4), 'int32');
        const { value, grads } = tf.variableGrads(() => {
          const logits = tf.add(tf.matMul(tf.gather(images, idx), w), b);
          const y = tf.oneHot(tf.gather(labels, idx), CLASSES).toFloat();
          return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), y), 1))) as tf.Scalar;
        }, [w, b]);
        losses.push(value.dataSync()[0]);
        tf.tidy(() => {
          w.assign(tf.sub(w, tf.mul(grads[w.name], 0.5)));
          b.assign(tf.sub(b, tf.mul(grads[b.name], 0.5)));
        });
        tf.dispose([idx, value, grads[w.name], grads[b.name]]);
      }
    }
  }
  const weights = [Float32Array.from(w.dataSync()), Float32Array.from(b.dataSync())];
  tf.dispose([w, b]);
  return { weights, losses };
}

test.serial('seed 002 §1.4: an MNIST-like loop over the FederatedDataLoader (IDX files) learns, and ends where the same loop run locally ends (1e-5)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-idx-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeTinyMnist(dir);
  const mnist = loadMnistLike(dir, { split: 'train' });
  t.is(mnist.count, 30);
  const images = tf.tensor2d(mnist.images, [mnist.count, SIDE * SIDE]);
  const labels = tf.tensor1d(mnist.labels, 'int32');
  const before = tf.memory().numTensors;

  const sim = simulation({ seed: 21 });
  const epochs = 3;
  const remote = await trainFederated(sim, images, labels, epochs);
  const local = trainLocally(21, images, labels, remote.initial, epochs, { bob: range(0, 15), alice: range(15, 30) });

  t.is(remote.losses.length, epochs * 8, '4 batches of ≤ 4 rows per worker per epoch');
  remote.losses.forEach((loss, i) => t.true(Math.abs(loss - local.losses[i]) < 1e-5, `batch ${i}: ${loss} vs ${local.losses[i]}`));
  remote.weights.forEach((w, i) => w.forEach((v, j) => {
    if (Math.abs(v - local.weights[i][j]) >= 1e-5) t.fail(`weight ${i}[${j}]: ${v} vs ${local.weights[i][j]}`);
  }));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  t.true(mean(remote.losses.slice(-8)) < mean(remote.losses.slice(0, 8)) / 2, 'the loss falls');
  t.is(remote.left, 0);
  t.is(sim.remoteErrors.length, 0);
  t.is(tf.memory().numTensors, before);
  tf.dispose([images, labels]);
});

