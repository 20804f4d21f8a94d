import test from 'ava';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';

// Every test switches the process-wide tfjs backend, so none may overlap.
const serial = test.serial;
const SEED = 20261207;

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Conv {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number;
  pad: Pad;
}

/**
 * Random NHWC convs: stride 1 mostly (the forward-convolution routes), images ×
 * channels on both sides of 32 (where the filter gradient switches route), stride
 * 2 for the GEMM routes, 'same', 'valid' and explicit padding.
 */
const convArb: fc.Arbitrary<Conv> = fc
  .record({
    batch: fc.integer({ min: 1, max: 12 }),
    h: fc.integer({ min: 4, max: 11 }),
    w: fc.integer({ min: 4, max: 11 }),
    inC: fc.integer({ min: 1, max: 9 }),
    outC: fc.integer({ min: 1, max: 7 }),
    fh: fc.integer({ min: 1, max: 4 }),
    fw: fc.integer({ min: 1, max: 4 }),
    strides: fc.constantFrom(1, 1, 1, 2),
    pad: fc.oneof(fc.constantFrom<Pad>('same', 'valid'), fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)).map(([t, b, l, r]): Pad => [[0, 0], [t, b], [l, r], [0, 0]])),
  })
  .map(({ batch, h, w, inC, outC, fh, fw, strides, pad }) => ({ x: [batch, h, w, inC], f: [fh, fw, inC, outC], strides, pad }));

const wave = (n: number, k: number, phase = 0) => Array.from({ length: n }, (_, i) => Math.sin(k * i + phase));
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Gradients of Σ w ⊙ conv2d(x, f) with respect to x and f, on one backend. */
async function convGrads(backend: string, c: Conv): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(wave(size(c.x), 1.3), c.x);
    const f = tf.tensor4d(wave(size(c.f), 0.7, 0.5), c.f);
    const loss = (x: tf.Tensor, f: tf.Tensor) => {
      const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad);
      return y.mul(tf.tensor(wave(y.size, 0.37, 0.2), y.shape)).sum();
    };
    return tf.grads(loss)([x, f]).map((g) => g.dataSync() as Float32Array);
  });
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return a.length === b.length ? worst : Infinity;
}

serial('conv2d input and filter gradients match cpu on random shapes, strides and paddings', async (t) => {
  await initBackend('wasm');
  await fc.assert(
    fc.asyncProperty(convArb, async (c) => {
      const wasm = await convGrads('wasm', c);
      const cpu = await convGrads('cpu', c);
      wasm.forEach((g, i) => {
        const d = maxRelDiff(g, cpu[i]);
        if (!(d < 1e-5)) throw new Error(`${i === 0 ? 'dx' : 'dW'} differs from cpu by ${d}: ${JSON.stringify(c)}`);
      });
    }),
    { seed: SEED, numRuns: 60 },
  );
  t.pass();
});

/** How many native Conv2D calls `fn` makes (the registered kernel, wrapped for the count). */
function countConvolutions(fn: () => void): number {
  const conv = tf.getKernel('Conv2D', 'wasm')!;
  let calls = 0;
  tf.unregisterKernel('Conv2D', 'wasm');
  tf.registerKernel({ ...conv, kernelFunc: (params) => (calls++, conv.kernelFunc(params)) });
  try {
    fn();
  } finally {
    tf.unregisterKernel('Conv2D', 'wasm');
    tf.registerKernel(conv);
  }
  return calls;
}

serial('stride 1 takes the convolution routes; stride 2 and small single-channel batches the GEMM ones', async (t) => {
  await initBackend('wasm');
  const gradsCalls = (c: Conv) =>
    countConvolutions(() =>
      tf.tidy(() => {
        const x = tf.tensor4d(wave(size(c.x), 1.3), c.x);
        const f = tf.tensor4d(wave(size(c.f), 0.7), c.f);
        tf.grads((x: tf.Tensor, f: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad).sum())([x, f]);
      }),
    );
  // forward + input gradient + filter gradient
  t.is(gradsCalls({ x: [4, 8, 8, 8], f: [3, 3, 8, 4], strides: 1, pad: 'same' }), 3);
  // forward + input gradient; the filter gradient by im2col (4 single-channel images)
  t.is(gradsCalls({ x: [4, 8, 8, 1], f: [3, 3, 1, 4], strides: 1, pad: 'same' }), 2);
  // forward only
  t.is(gradsCalls({ x: [4, 8, 8, 8], f: [3, 3, 8, 4], strides: 2, pad: 'same' }), 1);
});

serial('the convolution routes are deterministic and leave no heap tensors behind', async (t) => {
  await initBackend('wasm');
  const c: Conv = { x: [6, 9, 9, 8], f: [5, 5, 8, 6], strides: 1, pad: 'same' };
  const before = tf.backend().numDataIds();
  const first = await convGrads('wasm', c);
  t.is(tf.backend().numDataIds(), before);
  const second = await convGrads('wasm', c);
  t.deepEqual(second, first);
});
