import test from 'ava';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { conv2DBackpropFilter } from '../src/runtime/wasm-kernels/conv2d-backprop-filter.js';
import { conv2DBackpropInput } from '../src/runtime/wasm-kernels/conv2d-backprop-input.js';
import { MAX_SLICE_FLOATS } from '../src/runtime/wasm-kernels/gemm.js';

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
 * Random NHWC convs: stride 1 mostly (the forward-convolution routes), stride 2
 * for the GEMM routes; 'same', 'valid' and explicit padding.
 */
const convArb: fc.Arbitrary<Conv> = fc
  .record({
    batch: fc.integer({ min: 1, max: 12 }),
    h: fc.integer({ min: 4, max: 11 }),
    w: fc.integer({ min: 4, max: 11 }),
    inC: fc.integer({ min: 1, max: 12 }),
    outC: fc.integer({ min: 1, max: 7 }),
    fh: fc.integer({ min: 1, max: 4 }),
    fw: fc.integer({ min: 1, max: 4 }),
    strides: fc.constantFrom(1, 1, 1, 2),
    pad: fc.oneof(fc.constantFrom<Pad>('same', 'valid'), fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)).map(([t, b, l, r]): Pad => [[0, 0], [t, b], [l, r], [0, 0]])),
  })
  .map(({ batch, h, w, inC, outC, fh, fw, strides, pad }) => ({ x: [batch, h, w, inC], f: [fh, fw, inC, outC], strides, pad }));

/** conv2d's output shape for c (tfjs' own computation, as the kernels use). */
const outShape = (c: Conv) => tf.backend_util.computeConv2DInfo(c.x, c.f, c.strides, 1, c.pad).outShape;

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

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return a.length === b.length ? worst : Infinity;
}

/**
 * Float32 rounding allowed in [dx, dW]: each entry sums products of values in
 * [-1, 1] (fH·fW·outC of them for dx, B·outH·outW for dW), and backends sum in
 * different orders; 1e-6 per term is a few ulps each, far below any indexing
 * slip (which moves whole terms).
 */
function tolerances(c: Conv, yShape: number[]): [number, number] {
  const [fh, fw, , outC] = c.f;
  const [batch, outH, outW] = yShape;
  return [1e-6 * (1 + fh * fw * outC), 1e-6 * (1 + batch * outH * outW)];
}

serial('conv2d input and filter gradients match cpu on random shapes, strides and paddings', async (t) => {
  await initBackend('wasm');
  await fc.assert(
    fc.asyncProperty(convArb, async (c) => {
      const wasm = await convGrads('wasm', c);
      const cpu = await convGrads('cpu', c);
      const tol = tolerances(c, outShape(c));
      wasm.forEach((g, i) => {
        const d = maxAbsDiff(g, cpu[i]);
        if (!(d <= tol[i])) throw new Error(`${i === 0 ? 'dx' : 'dW'} differs from cpu by ${d}: ${JSON.stringify(c)}`);
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

serial('stride 1 takes the convolution routes (dx from 8 channels), stride 2 the GEMM ones', async (t) => {
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
  // forward + filter gradient; the input gradient of fewer than 8 channels by col2im
  t.is(gradsCalls({ x: [2, 8, 8, 7], f: [3, 3, 7, 4], strides: 1, pad: 'valid' }), 2);
  // forward only
  t.is(gradsCalls({ x: [4, 8, 8, 8], f: [3, 3, 8, 4], strides: 2, pad: 'same' }), 1);
});

/** dx and dW of a conv for a given dy, from the wasm kernels on the GEMM route, or from cpu's kernels. */
async function kernelGrads(backend: 'wasm gemm' | 'cpu', c: Conv): Promise<Float32Array[]> {
  await tf.setBackend(backend === 'cpu' ? 'cpu' : 'wasm');
  return tf.tidy(() => {
    const x = tf.tensor4d(wave(size(c.x), 1.3), c.x);
    const f = tf.tensor4d(wave(size(c.f), 0.7, 0.5), c.f);
    const yShape = tf.conv2d(x, f, c.strides, c.pad).shape;
    const dy = tf.tensor(wave(size(yShape), 0.37, 0.2), yShape);
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: c.f, inputShape: c.x };
    if (backend === 'cpu') {
      return [
        tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
      ].map((t) => t.dataSync() as Float32Array);
    }
    const read = (info: tf.TensorInfo) => tf.engine().makeTensorFromTensorInfo(info).dataSync() as Float32Array;
    const params = (inputs: tf.NamedTensorInfoMap) => ({ inputs, backend: tf.backend(), attrs: attrs as unknown as tf.NamedAttrMap });
    return [
      read(conv2DBackpropInput(params({ dy, filter: f }), MAX_SLICE_FLOATS, 'gemm')),
      read(conv2DBackpropFilter(params({ x, dy }), MAX_SLICE_FLOATS, 'gemm')),
    ];
  });
}

serial('the GEMM routes, forced on stride-1 convs too, match cpu', async (t) => {
  await initBackend('wasm');
  await fc.assert(
    fc.asyncProperty(convArb, async (c) => {
      const gemm = await kernelGrads('wasm gemm', c);
      const cpu = await kernelGrads('cpu', c);
      const tol = tolerances(c, outShape(c));
      gemm.forEach((g, i) => {
        const d = maxAbsDiff(g, cpu[i]);
        if (!(d <= tol[i])) throw new Error(`${i === 0 ? 'dx' : 'dW'} differs from cpu by ${d}: ${JSON.stringify(c)}`);
      });
    }),
    { seed: SEED, numRuns: 40 },
  );
  t.pass();
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
