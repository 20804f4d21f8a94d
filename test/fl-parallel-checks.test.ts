/**
 * What a worker thread checks of the weights it trained, so the simulation's thread need not
 * (src/fl/parallel/result-checks.ts): each layer's sha256 — then sealed on the simulation's
 * thread, where canonicalJson and the event log take it instead of hashing — and whether every
 * value is finite. Here: the thread's checks equal the simulation thread's on random arrays
 * (computed in a real worker thread); a sealed array is written exactly as its unsealed copy;
 * in a run with threads, every message digest in the event log is the digest of a fresh copy of
 * its payload, which nobody sealed — so the log is the log computed without seals.
 */
import test from 'ava';
import fc from 'fast-check';
import { Worker } from 'node:worker_threads';
import { bytesDigest, canonicalJson, digestOf, sealBytes, sealedBytesDigest } from '../src/runtime/canonical.js';
import { SimulationCore } from '../src/runtime/index.js';
import { envelopeDigest } from '../src/runtime/event-log.js';
import { allFinite, firstNonFinite } from '../src/fl/models/weights.js';
import { acceptChecks, checkWeights, type WeightsChecks } from '../src/fl/parallel/result-checks.js';
import { runFederated } from '../src/fl/rounds/index.js';
import { parallelOptions, sharedTrainingPool } from './helpers/parallel-world.js';

const shared = sharedTrainingPool(test);

/** Any float32, NaN and ±Infinity included. */
const float32 = fc.oneof(fc.float(), fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0));
const layer = fc.array(float32, { maxLength: 300 }).map((a) => Float32Array.from(a));
const layers = fc.array(layer, { minLength: 1, maxLength: 5 });

/** A thread running result-checks.ts's checkWeights on what it is sent (tsx registered there, as the pool's threads do). */
function checksThread(): { check(weights: Float32Array[]): Promise<WeightsChecks>; close(): Promise<number> } {
  const module = new URL('../src/fl/parallel/result-checks.ts', import.meta.url).href;
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
      .then(({ register }) => { register(); return import(${JSON.stringify(module)}); })
      .then(({ checkWeights }) => parentPort.on('message', (weights) => parentPort.postMessage(checkWeights(weights))));`;
  const worker = new Worker(code, { eval: true });
  return {
    check: (weights) =>
      new Promise((resolve, reject) => {
        const failed = (error: Error) => reject(error);
        worker.once('error', failed);
        worker.once('message', (checks: WeightsChecks) => {
          worker.off('error', failed);
          resolve(checks);
        });
        worker.postMessage(weights);
      }),
    close: () => worker.terminate(),
  };
}

test('the checks made in a worker thread equal the simulation thread\'s: each layer\'s sha256 and whether every value is finite', async (t) => {
  const thread = checksThread();
  try {
    await fc.assert(
      fc.asyncProperty(layers, async (weights) => {
        const there = await thread.check(weights);
        const here = { digests: weights.map((w) => bytesDigest(w)), finite: weights.every((w) => w.every((v) => Number.isFinite(v))) };
        t.deepEqual(there, here);
        t.deepEqual(checkWeights(weights), here);
        return there.finite === allFinite(weights);
      }),
      { numRuns: 60 },
    );
  } finally {
    await thread.close();
  }
});

test('firstNonFinite finds the first NaN or ±Infinity of any typed array, as findIndex does', (t) => {
  fc.assert(
    fc.property(fc.array(float32, { maxLength: 200 }), (values) => {
      const expected = values.map((v) => Math.fround(v)).findIndex((v) => !Number.isFinite(v));
      return firstNonFinite(Float32Array.from(values)) === expected && firstNonFinite(Float64Array.from(values, (v) => Math.fround(v))) === expected;
    }),
  );
  t.is(firstNonFinite(Int32Array.of(1, 2, 3)), -1);
  t.is(firstNonFinite(new Float32Array(0)), -1);
});

test('a sealed array is written by canonicalJson exactly as an unsealed copy of it, views into a larger buffer included', (t) => {
  fc.assert(
    fc.property(layer, fc.nat(5), fc.nat(5), (values, before, after) => {
      // A view into a larger buffer, as a decoded message's arrays may be: its digest is of its own bytes only.
      const buffer = new Float32Array(before + values.length + after).fill(7);
      const view = buffer.subarray(before, before + values.length);
      view.set(values);
      sealedBytesDigest(view);
      const copy = Float32Array.from(values);
      return canonicalJson({ w: [view], n: 1 }) === canonicalJson({ w: [copy], n: 1 }) && digestOf(view) === digestOf(copy);
    }),
  );
  // A seal is what the log then writes: it stands for the bytes, so it is only ever given their digest.
  const sealed = Float32Array.of(1, 2, 3);
  sealBytes(sealed, bytesDigest(Float32Array.of(1, 2, 3)));
  t.is(canonicalJson(sealed), canonicalJson(Float32Array.of(1, 2, 3)));
  t.not(canonicalJson(sealed), canonicalJson(Float32Array.of(3, 2, 1)));
});

test('acceptChecks seals a result\'s layers and says they are finite; checks of another layout are ignored (the simulation thread then checks and hashes)', (t) => {
  const result = { weights: [Float32Array.of(1, 2), Float32Array.of(3)], numSamples: 2, meanLoss: 0.5, steps: 1, samplesSeen: 2 };
  const checks = checkWeights(result.weights);
  const accepted = acceptChecks(result, checks);
  t.is(accepted.weightsFinite, true);
  t.is(sealedBytesDigest(result.weights[0]), checks.digests[0]);
  const other = { ...result, weights: [Float32Array.of(5, 6), Float32Array.of(7)] };
  const ignored = acceptChecks(other, { digests: ['00'], finite: false });
  t.is(ignored.weightsFinite, undefined);
  t.is(sealedBytesDigest(other.weights[0]), bytesDigest(Float32Array.of(5, 6)), 'not sealed by the mismatched checks');
  t.is(acceptChecks(other, undefined), other);
});

test.serial('a run with threads: its results came with the threads\' checks, and every message digest in its log is that of an unsealed copy of the payload', async (t) => {
  const before = shared.pool.stats.taken;
  const sim = new SimulationCore({ seed: 3 });
  await runFederated(sim, { ...parallelOptions({ rounds: 2 }), workers: shared.pool });
  t.true(shared.pool.stats.taken - before >= 10, 'the threads trained the fits');
  let messages = 0;
  for (const event of sim.log.events) {
    if (!('envelope' in event) || event.ev !== 'sent') continue;
    messages++;
    // structuredClone: the same values in fresh arrays, which no seal covers (every byte is hashed).
    t.is(envelopeDigest(event.envelope), digestOf(structuredClone(event.envelope.payload)), `${event.type} ${event.msg}`);
  }
  t.true(messages > 20);
});
