/**
 * Secure average of models with additive sharing (scenarios/additive-average.ts,
 * src/fl/secure/additive-average.ts): n workers train remotely, share their weights
 * among the others, and `me` reconstructs only the sum. It equals the plain average
 * within the fixed-point error for n = 3 … 50; no message carries one worker's weights,
 * encoded or not, and `me` receives only share sums, whose total is the sum of the updates;
 * one seed gives one log.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { digestOf, type SimEvent, type Simulation } from '../src/index.js';
import { RING_2_64, encodeFixedVector } from '../src/actors/index.js';
import { createStream } from '../src/runtime/rng.js';
import { additiveAverage, AdditiveAverageError } from '../src/fl/secure/additive-average.js';
import scenario, { gdStep, INITIAL, workerData } from '../scenarios/additive-average.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

const STEPS = 5;
const LR = 0.1;

/** Each worker's trained weights, computed here with the same tfjs ops (bit for bit what the workers compute). */
function trainedLocally(seed: number, n: number): Float32Array[][] {
  return Array.from({ length: n }, (_, i) => {
    const { x, y } = workerData(createStream(seed, `data/${i}`));
    const [xt, yt] = [tf.tensor2d(x), tf.tensor2d(y)];
    let [w, b]: tf.Tensor[] = [tf.tensor2d(INITIAL.w), tf.tensor1d(INITIAL.b)];
    for (let s = 0; s < STEPS; s++) {
      const next = tf.tidy(() => gdStep(xt, yt, w, b, LR) as [tf.Tensor, tf.Tensor]);
      tf.dispose([w, b]);
      [w, b] = next;
    }
    const params = [w.dataSync() as Float32Array, b.dataSync() as Float32Array].map((p) => Float32Array.from(p));
    tf.dispose([xt, yt, w, b]);
    return params;
  });
}

const between = (sim: Simulation, from: string, to: string) => {
  const start = sim.log.events.findIndex((e) => e.ev === 'mark' && (e as { label?: string }).label === from);
  const end = sim.log.events.findIndex((e) => e.ev === 'mark' && (e as { label?: string }).label === to);
  return sim.log.events.slice(start, end);
};
const isSent = (e: SimEvent): e is Extract<SimEvent, { ev: 'sent' }> => e.ev === 'sent';
const ringVectorsIn = (payload: unknown): BigUint64Array[] => {
  if (payload instanceof BigUint64Array) return [payload];
  if (payload === null || typeof payload !== 'object') return [];
  return Object.values(payload as Record<string, unknown>).flatMap(ringVectorsIn);
};

for (const n of [3, 5, 10, 20, 50]) {
  test.serial(`n = ${n}: the additively shared average equals the plain average within the fixed-point error, and only the sum is revealed`, async (t) => {
    const before = tf.memory().numTensors;
    const sim = simulation({ seed: n });
    const { observed } = await scenario(sim, { params: { workers: n, steps: STEPS, lr: LR } });
    const individual = trainedLocally(n, n);
    const plain = [0, 1].map((p) => individual[0][p].map((_, j) => individual.reduce((s, params) => s + params[p][j], 0) / n));
    const secure = [(observed.weights as number[][]).flat(), observed.bias as number[]];
    // Each worker's encoding is off by ≤ 0.5 / 10^3; so is the sum's average; plus float32 rounding.
    const bound = 0.5e-3 + 1e-6;
    secure.forEach((param, p) => param.forEach((v, j) => t.true(Math.abs(v - plain[p][j]) <= bound, `param ${p}[${j}]: ${v} vs ${plain[p][j]}`)));

    // Nothing but shapes and share sums reached `me` while averaging: n sums per parameter, as ring replies.
    const replies = between(sim, 'average', 'averaged').filter(isSent).filter((e) => e.to === 'me');
    t.true(replies.every((e) => e.type === 'reply'));
    const kinds = replies.map((e) => (e.envelope.payload as { kind: string }).kind);
    t.deepEqual([...new Set(kinds)].sort(), ['ring', 'shape'], 'the trained weights are op results: their shapes are asked for (shapes are not secret)');
    const toMe = replies.filter((e) => (e.envelope.payload as { kind: string }).kind === 'ring');
    t.is(toMe.length, 2 * n);
    // …and no tensor ever came back to `me` in the whole run.
    t.false(sim.log.events.filter(isSent).some((e) => e.to === 'me' && (e.envelope.payload as { kind?: string }).kind === 'object'));
    // Shares went worker to worker: each worker sent one share of each parameter to each other worker.
    const shares = sim.log.events.filter(isSent).filter((e) => e.type === 'smpc/share');
    t.is(shares.length, 2 * n * (n - 1));
    t.true(shares.every((e) => e.from !== 'me' && e.to !== 'me' && e.from !== e.to));

    // By digest: no ring vector on the wire is any worker's encoded weights; the sums `me` got add up to Σ encoded weights.
    const encoded = individual.map((params) => params.map((p) => encodeFixedVector(p, { precisionFractional: 3 })));
    const secrets = new Set(encoded.flat().map((v) => digestOf(v)));
    const onTheWire = sim.log.events.filter(isSent).flatMap((e) => ringVectorsIn(e.envelope.payload));
    t.true(onTheWire.length > 0);
    t.false(onTheWire.some((v) => secrets.has(digestOf(v))), 'no message carries an encoded update');
    for (let p = 0; p < 2; p++) {
      const received = toMe.map((e) => (e.envelope.payload as { value: { values: BigUint64Array; shape: number[] } }).value).filter((v) => v.shape.length === 2 - p);
      t.is(received.length, n);
      const total = received.reduce((acc, v) => acc.map((a, j) => BigInt.asUintN(64, a + v.values[j])), new BigUint64Array(received[0].values.length));
      const expected = encoded.reduce((acc, params) => acc.map((a, j) => BigInt.asUintN(64, a + params[p][j])), new BigUint64Array(encoded[0][p].length));
      t.deepEqual([...total], [...expected], 'the share sums add up to exactly Σ of the encoded updates');
    }
    // The workers keep nothing, and no tensor leaked here.
    const left = (await Promise.all(sim.workers.map(async (w) => (await w.listObjects()).size)));
    t.true(left.every((n) => n === 0), sim.workers.map((w, i) => `${w.id}: ${left[i]}`).join(', '));
    t.is(tf.memory().numTensors, before);
    t.deepEqual(sim.remoteErrors, []);
  });
}

test.serial('one seed gives one event log and one average', async (t) => {
  const run = async () => {
    const sim = simulation({ seed: 9, faults: { delay: { rate: 0.4, dist: { kind: 'uniform', min: 0, max: 30 } } } });
    const { observed } = await scenario(sim, { params: { workers: 4 } });
    return { observed, log: sim.log.toJSONL() };
  };
  const a = await run();
  const b = await run();
  t.deepEqual(b.observed, a.observed);
  t.is(b.log, a.log);
});

test.serial("shareAmong: 'all' is PySyft's two-worker form; 'others' needs three participants", async (t) => {
  const sim = simulation({ seed: 2 });
  const { observed } = await scenario(sim, { params: { workers: 2, shareAmong: 'all', precisionFractional: 6 } });
  const individual = trainedLocally(2, 2);
  const plain = individual[0][1].map((_, j) => (individual[0][1][j] + individual[1][1][j]) / 2);
  t.true(Math.abs((observed.bias as number[])[0] - plain[0]) <= 0.5e-6 + 1e-6);

  const other = simulation({ seed: 2 });
  const [bob, alice] = [other.worker('bob'), other.worker('alice')];
  const models = [bob, alice].map((w) => ({ worker: w, params: [tf.tensor([1, 2]).send(w)] }));
  await t.throwsAsync(additiveAverage(models), { instanceOf: AdditiveAverageError, message: /shareAmong: 'all'/ });
  t.is(RING_2_64, 1n << 64n);
});
