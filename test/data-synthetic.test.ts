import test from 'ava';
import { createStream } from '../src/runtime/rng.js';
import { syntheticFedProx, type SyntheticDevice } from '../src/fl/data/synthetic.js';
import { labelHistogram } from '../src/fl/data/dataset-stats.js';

const CAP = 1500; // keeps the lognormal tail from making a test slow

function allLabels(d: SyntheticDevice): Int32Array {
  const y = new Int32Array(d.n);
  y.set(d.trainY);
  y.set(d.testY, d.nTrain);
  return y;
}

/** Mean over devices of the total-variation distance between a device's label distribution and the pooled one. */
function meanLabelTv(devices: SyntheticDevice[], classes: number): number {
  const dists = devices.map((d) => labelHistogram(allLabels(d), undefined, classes).map((c) => c / d.n));
  const pooled = new Array<number>(classes).fill(0);
  for (const p of dists) p.forEach((x, i) => (pooled[i] += x / dists.length));
  const tv = dists.map((p) => p.reduce((s, x, i) => s + Math.abs(x - pooled[i]), 0) / 2);
  return tv.reduce((a, b) => a + b, 0) / tv.length;
}

test('same seed gives identical arrays; a different seed gives different ones', (t) => {
  const opts = { alpha: 1, beta: 1, maxSamplesPerDevice: CAP };
  const a = syntheticFedProx(opts, { seed: 7, name: 'syn' });
  const b = syntheticFedProx(opts, { seed: 7, name: 'syn' });
  t.deepEqual(a, b);
  const c = syntheticFedProx(opts, { seed: 8, name: 'syn' });
  t.notDeepEqual(a[0].trainX, c[0].trainX);
  const d = syntheticFedProx(opts, { seed: 7, name: 'other' });
  t.notDeepEqual(a[0].trainX, d[0].trainX);
});

test('a RandomStream works too, and is deterministic', (t) => {
  const opts = { alpha: 0.5, beta: 0.5, devices: 5, maxSamplesPerDevice: CAP };
  const a = syntheticFedProx(opts, createStream(3, 'syn'));
  const b = syntheticFedProx(opts, createStream(3, 'syn'));
  t.deepEqual(a, b);
  t.notDeepEqual(a[0].trainX, syntheticFedProx(opts, createStream(4, 'syn'))[0].trainX);
});

test('changing the device count does not change earlier devices', (t) => {
  for (const iid of [false, true]) {
    const few = syntheticFedProx({ alpha: 1, beta: 1, devices: 3, iid, maxSamplesPerDevice: CAP }, { seed: 1, name: 's' });
    const many = syntheticFedProx({ alpha: 1, beta: 1, devices: 10, iid, maxSamplesPerDevice: CAP }, { seed: 1, name: 's' });
    t.deepEqual(few, many.slice(0, 3));
    const viaStream = (devices: number) =>
      syntheticFedProx({ alpha: 1, beta: 1, devices, iid, maxSamplesPerDevice: CAP }, createStream(1, 's'));
    t.deepEqual(viaStream(2)[1], viaStream(6)[1]);
  }
});

test('shapes, counts, label range and the 90/10 split', (t) => {
  for (const iid of [false, true]) {
    const devices = syntheticFedProx(
      { alpha: 1, beta: 1, devices: 12, features: 20, classes: 5, iid, maxSamplesPerDevice: CAP },
      { seed: 11, name: 'shape' },
    );
    t.is(devices.length, 12);
    devices.forEach((d, k) => {
      t.is(d.id, k);
      t.true(d.n >= 50 && d.n <= CAP, `n = ${d.n}`);
      t.is(d.nTrain, Math.floor(0.9 * d.n));
      t.is(d.nTest, d.n - d.nTrain);
      t.is(d.trainX.length, d.nTrain * 20);
      t.is(d.testX.length, d.nTest * 20);
      t.is(d.trainY.length, d.nTrain);
      t.is(d.testY.length, d.nTest);
      t.true(d.trainX instanceof Float32Array && d.testX instanceof Float32Array);
      t.true(d.trainY instanceof Int32Array && d.testY instanceof Int32Array);
      for (const y of allLabels(d)) t.true(y >= 0 && y < 5);
      t.true(d.trainX.every(Number.isFinite) && d.testX.every(Number.isFinite));
    });
  }
});

test('trainFraction and maxSamplesPerDevice are honoured', (t) => {
  const devices = syntheticFedProx(
    { alpha: 0, beta: 0, devices: 8, trainFraction: 0.5, maxSamplesPerDevice: 60 },
    { seed: 2, name: 'cap' },
  );
  for (const d of devices) {
    t.true(d.n >= 50 && d.n <= 60);
    t.is(d.nTrain, Math.floor(d.n / 2));
  }
  const allTest = syntheticFedProx({ alpha: 0, beta: 0, devices: 2, trainFraction: 0, maxSamplesPerDevice: 60 }, { seed: 2, name: 'cap' });
  t.is(allTest[0].nTrain, 0);
  t.is(allTest[0].testY.length, allTest[0].n);
});

test('sample counts follow lognormal(4, 2) + 50 without a cap', (t) => {
  const devices = syntheticFedProx({ alpha: 0, beta: 0, devices: 200, features: 2, classes: 2 }, { seed: 5, name: 'counts' });
  const logs = devices.map((d) => Math.log(d.n - 50 + 0.5));
  const median = [...devices.map((d) => d.n)].sort((a, b) => a - b)[100];
  t.true(devices.every((d) => d.n >= 50));
  // median of lognormal(4, 2) is e^4 ≈ 55, so the median n is ≈ 105; generous bounds.
  t.true(median > 70 && median < 170, `median n = ${median}`);
  t.true(Math.max(...logs) > 7, 'the heavy tail shows up among 200 devices');
});

test('non-IID devices have different label distributions; IID devices similar ones', (t) => {
  const opts = { devices: 30, maxSamplesPerDevice: 2000 };
  for (const seed of [1, 2]) {
    const noniid = meanLabelTv(syntheticFedProx({ ...opts, alpha: 1, beta: 1 }, { seed, name: 'skew' }), 10);
    const iid = meanLabelTv(syntheticFedProx({ ...opts, alpha: 0, beta: 0, iid: true }, { seed, name: 'skew' }), 10);
    // Measured ≈ 0.8 versus ≈ 0.1.
    t.true(noniid > 0.5, `non-IID mean TV ${noniid}`);
    t.true(iid < 0.25, `IID mean TV ${iid}`);
  }
});

test('IID features follow N(0, diag(j^-1.2))', (t) => {
  const features = 10;
  const devices = syntheticFedProx({ alpha: 0, beta: 0, devices: 20, features, iid: true, maxSamplesPerDevice: 1000 }, { seed: 9, name: 'x' });
  const sum = new Float64Array(features);
  const sq = new Float64Array(features);
  let count = 0;
  for (const d of devices) {
    for (const X of [d.trainX, d.testX]) {
      for (let i = 0; i < X.length; i++) {
        sum[i % features] += X[i];
        sq[i % features] += X[i] * X[i];
      }
    }
    count += d.n;
  }
  t.true(count > 2000);
  for (let j = 0; j < features; j++) {
    const mean = sum[j] / count;
    const variance = sq[j] / count - mean * mean;
    const expected = Math.pow(j + 1, -1.2);
    t.true(Math.abs(mean) < 0.1 * Math.sqrt(expected) + 0.02, `feature ${j} mean ${mean}`);
    t.true(Math.abs(variance / expected - 1) < 0.15, `feature ${j} variance ${variance} vs ${expected}`);
  }
});

test('alpha = beta = 0 gives u_k = B_k = 0 and finite data, still not IID', (t) => {
  const devices = syntheticFedProx({ alpha: 0, beta: 0, devices: 30, maxSamplesPerDevice: 1000 }, { seed: 4, name: 'zero' });
  for (const d of devices) {
    t.is(d.u, 0);
    t.is(d.B, 0);
    t.true(d.trainX.every(Number.isFinite));
  }
  // Each device still has its own W_k and v_k, as in FedProx's Synthetic(0, 0).
  t.true(meanLabelTv(devices, 10) > 0.4);
});

test('alpha and beta are standard deviations of u_k and B_k', (t) => {
  const devices = syntheticFedProx({ alpha: 3, beta: 0.5, devices: 400, features: 1, classes: 2, maxSamplesPerDevice: 50 }, { seed: 6, name: 'sd' });
  const sd = (xs: number[]) => Math.sqrt(xs.reduce((s, x) => s + x * x, 0) / xs.length);
  const su = sd(devices.map((d) => d.u));
  const sB = sd(devices.map((d) => d.B));
  t.true(Math.abs(su / 3 - 1) < 0.15, `sd(u) = ${su}`);
  t.true(Math.abs(sB / 0.5 - 1) < 0.15, `sd(B) = ${sB}`);
});

test('alpha rescales the same draws and, as in FedProx, changes no data; beta moves the features', (t) => {
  const base = { devices: 4, maxSamplesPerDevice: 300 };
  const a0 = syntheticFedProx({ ...base, alpha: 0, beta: 1 }, { seed: 3, name: 'r' });
  const a2 = syntheticFedProx({ ...base, alpha: 2, beta: 1 }, { seed: 3, name: 'r' });
  const b0 = syntheticFedProx({ ...base, alpha: 2, beta: 0 }, { seed: 3, name: 'r' });
  t.deepEqual(a0.map((d) => d.trainX), a2.map((d) => d.trainX));
  t.deepEqual(a0.map((d) => d.B), a2.map((d) => d.B));
  t.notDeepEqual(a0.map((d) => d.u), a2.map((d) => d.u));
  // u_k adds the same offset to every class's logit, so the labels cannot change.
  t.deepEqual(a0.map((d) => d.trainY), a2.map((d) => d.trainY));
  t.deepEqual(a0.map((d) => d.testY), a2.map((d) => d.testY));
  t.notDeepEqual(a2.map((d) => d.trainX), b0.map((d) => d.trainX));
  // Larger beta spreads the devices' feature means further apart.
  const spread = (ds: SyntheticDevice[]) => {
    const means = ds.map((d) => d.trainX.reduce((s, x) => s + x, 0) / d.trainX.length);
    return Math.sqrt(means.reduce((s, m) => s + m * m, 0) / means.length);
  };
  const wide = syntheticFedProx({ devices: 40, maxSamplesPerDevice: 100, alpha: 0, beta: 10 }, { seed: 3, name: 'w' });
  const narrow = syntheticFedProx({ devices: 40, maxSamplesPerDevice: 100, alpha: 0, beta: 0 }, { seed: 3, name: 'w' });
  t.true(spread(wide) > 5 * spread(narrow), `${spread(wide)} vs ${spread(narrow)}`);
});

test('invalid options are rejected with clear errors', (t) => {
  const src = { seed: 1, name: 'bad' };
  t.throws(() => syntheticFedProx({ alpha: -1, beta: 0 }, src), { message: /alpha must be a finite number ≥ 0, got -1/ });
  t.throws(() => syntheticFedProx({ alpha: 0, beta: NaN }, src), { message: /beta must be a finite number ≥ 0/ });
  t.throws(() => syntheticFedProx({ alpha: 0, beta: 0, devices: 0 }, src), { message: /devices must be a positive integer, got 0/ });
  t.throws(() => syntheticFedProx({ alpha: 0, beta: 0, features: 2.5 }, src), { message: /features must be a positive integer/ });
  t.throws(() => syntheticFedProx({ alpha: 0, beta: 0, classes: 0 }, src), { message: /classes must be a positive integer/ });
  t.throws(() => syntheticFedProx({ alpha: 0, beta: 0, trainFraction: 1.5 }, src), { message: /trainFraction must be in \[0, 1\]/ });
  t.throws(() => syntheticFedProx({ alpha: 0, beta: 0, maxSamplesPerDevice: 0 }, src), { message: /maxSamplesPerDevice must be a positive integer/ });
  // Arrays that would not fit are refused before they are allocated, with the way out named.
  t.throws(() => syntheticFedProx({ alpha: 0, beta: 0, devices: 1, features: 2 ** 23 }, src), {
    message: /device 0 drew n = \d+ samples \(\d+ floats\); set maxSamplesPerDevice to cap it/,
  });
});
