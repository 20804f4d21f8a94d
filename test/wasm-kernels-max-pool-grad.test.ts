import test from 'ava';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';

// Every test switches the process-wide tfjs backend, so none may overlap.
const serial = test.serial;
const SEED = 20261207;

interface Pool {
  x: [number, number, number, number];
  size: [number, number];
  strides: [number, number];
  pad: 'same' | 'valid';
  /** Input values: few distinct ones, negatives included, so windows tie and go all-negative. */
  values: number[];
}

const poolArb: fc.Arbitrary<Pool> = fc
  .record({
    batch: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 2, max: 9 }),
    w: fc.integer({ min: 2, max: 9 }),
    c: fc.integer({ min: 1, max: 5 }),
    size: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    strides: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    pad: fc.constantFrom<'same' | 'valid'>('same', 'valid'),
  })
  .filter((p) => p.pad === 'same' || (p.size[0] <= p.h && p.size[1] <= p.w))
  .chain((p) =>
    fc.array(fc.integer({ min: -3, max: 3 }), { minLength: p.batch * p.h * p.w * p.c, maxLength: p.batch * p.h * p.w * p.c }).map((values) => ({
      x: [p.batch, p.h, p.w, p.c] as Pool['x'],
      size: p.size as Pool['size'],
      strides: p.strides as Pool['strides'],
      pad: p.pad,
      values: values.map((v) => v / 2),
    })),
  );

async function poolGrad(backend: string, p: Pool): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const g = tf.grad((x: tf.Tensor) => {
      const y = tf.maxPool(x as tf.Tensor4D, p.size, p.strides, p.pad);
      return y.mul(tf.tensor(Array.from({ length: y.size }, (_, i) => Math.sin(0.7 * i + 0.1)), y.shape)).sum();
    });
    return g(tf.tensor4d(p.values, p.x)).dataSync() as Float32Array;
  });
}

serial('maxPool gradients match cpu on random pools, with ties and all-negative windows', async (t) => {
  await initBackend('wasm');
  await fc.assert(
    fc.asyncProperty(poolArb, async (p) => {
      const wasm = await poolGrad('wasm', p);
      const cpu = await poolGrad('cpu', p);
      // Overlapping windows sum up to 9 gradients: float rounding; disjoint ones are exact.
      const worst = Math.max(...Array.from(wasm, (v, i) => Math.abs(v - cpu[i])));
      if (!(worst < 1e-6)) throw new Error(`differs from cpu by ${worst}: ${JSON.stringify({ ...p, values: undefined })}`);
    }),
    { seed: SEED, numRuns: 100 },
  );
  t.pass();
});
