import test from 'ava';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { describeBackend, initBackend } from '../src/runtime/backend.js';
import { batchMatMul, batchMatMulConfig, chooseMatMulLayout, type MatMulLayout } from '../src/runtime/wasm-kernels/batch-mat-mul.js';
import { registerWasmKernels } from '../src/runtime/wasm-kernels/register.js';

// Every test switches the process-wide tfjs backend, so none may overlap.
const serial = test.serial;
const SEED = 20261207;

/** Values in [-1, 1) from a seeded integer list, identical on every backend. */
const valuesArb = (n: number) => fc.array(fc.integer({ min: -1000, max: 999 }), { minLength: n, maxLength: n }).map((v) => v.map((x) => x / 1000));

interface Product {
  aShape: number[];
  bShape: number[];
  transposeA: boolean;
  transposeB: boolean;
}

/** A product's operand shapes: rank 2, A batched against a shared B, or both batched (native path). */
const productArb: fc.Arbitrary<Product> = fc
  .record({
    m: fc.integer({ min: 1, max: 33 }),
    k: fc.integer({ min: 1, max: 33 }),
    n: fc.integer({ min: 1, max: 33 }),
    transposeA: fc.boolean(),
    transposeB: fc.boolean(),
    batching: fc.constantFrom('none', 'a batched, b rank 2', 'a batched, b batch 1', 'both batched', 'b batched'),
    batch: fc.integer({ min: 2, max: 4 }),
  })
  .map(({ m, k, n, transposeA, transposeB, batching, batch }) => {
    const a = transposeA ? [k, m] : [m, k];
    const b = transposeB ? [n, k] : [k, n];
    const aBatch = batching === 'none' || batching === 'b batched' ? [] : [batch];
    const bBatch = batching === 'a batched, b batch 1' ? [1] : batching === 'both batched' || batching === 'b batched' ? [batch] : [];
    return { aShape: [...aBatch, ...a], bShape: [...bBatch, ...b], transposeA, transposeB };
  });

const size = (shape: number[]) => shape.reduce((x, y) => x * y, 1);
const withValues = (p: Product) => fc.tuple(fc.constant(p), valuesArb(size(p.aShape)), valuesArb(size(p.bShape)), valuesArb(outSize(p)));
function outSize(p: Product): number {
  const m = p.transposeA ? p.aShape.at(-1)! : p.aShape.at(-2)!;
  const n = p.transposeB ? p.bShape.at(-2)! : p.bShape.at(-1)!;
  const batch = Math.max(size(p.aShape.slice(0, -2)), size(p.bShape.slice(0, -2)));
  return batch * m * n;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/**
 * matMul and the gradients of Σ w ⊙ matMul with respect to both operands, on one backend.
 * tfjs differentiates only products whose operands have the same batch dimensions (its
 * gradient of a broadcast product has the wrong shape on every backend), so broadcast
 * products are compared forward only.
 */
async function productAndGrads(backend: string, p: Product, av: number[], bv: number[], wv: number[]): Promise<{ shape: number[]; values: Float32Array[] }> {
  await tf.setBackend(backend);
  const differentiable = JSON.stringify(p.aShape.slice(0, -2)) === JSON.stringify(p.bShape.slice(0, -2));
  return tf.tidy(() => {
    const a = tf.tensor(av, p.aShape);
    const b = tf.tensor(bv, p.bShape);
    const y = tf.matMul(a, b, p.transposeA, p.transposeB);
    const w = tf.tensor(wv, y.shape);
    const grads = differentiable ? tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.matMul(a, b, p.transposeA, p.transposeB).mul(w).sum())([a, b]) : [];
    return { shape: y.shape, values: [y, ...grads].map((t) => t.dataSync() as Float32Array) };
  });
}

serial('BatchMatMul is fedsim\'s on wasm and the run log header names it', async (t) => {
  await initBackend('wasm');
  t.true(registerWasmKernels().includes('BatchMatMul'));
  t.is(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc, batchMatMulConfig.kernelFunc);
  t.regex(describeBackend().detail, /JS kernels .*\bBatchMatMul\b/);
});

serial('products and their gradients match cpu on random shapes, transposes and batching', async (t) => {
  await initBackend('wasm');
  await fc.assert(
    fc.asyncProperty(productArb.chain(withValues), async ([p, av, bv, wv]) => {
      const wasm = await productAndGrads('wasm', p, av, bv, wv);
      const cpu = await productAndGrads('cpu', p, av, bv, wv);
      t.deepEqual(wasm.shape, cpu.shape);
      // Sums of ≤ 33·4 products of values in [-1, 1]: float32 rounding stays far below 1e-4.
      wasm.values.forEach((v, i) => {
        const d = maxAbsDiff(v, cpu.values[i]);
        if (!(d < 1e-4)) throw new Error(`${['product', 'dA', 'dB'][i]} differs from cpu by ${d}: ${JSON.stringify(p)}`);
      });
    }),
    { seed: SEED, numRuns: 60 },
  );
  t.pass();
});

serial('both layouts give the same bits, and neither leaks heap tensors', async (t) => {
  await initBackend('wasm');
  const backend = tf.backend();
  const run = (a: tf.Tensor, b: tf.Tensor, p: Product, layout: MatMulLayout) => {
    const info = batchMatMul({ inputs: { a, b }, backend, attrs: { transposeA: p.transposeA, transposeB: p.transposeB } }, layout);
    const out = tf.engine().makeTensorFromTensorInfo(info);
    const values = out.dataSync().slice();
    out.dispose();
    return values;
  };
  const rank2or3 = productArb.filter((p) => size(p.bShape.slice(0, -2)) === 1 && !(p.transposeA && p.aShape.length > 2));
  await fc.assert(
    fc.asyncProperty(rank2or3.chain(withValues), async ([p, av, bv]) => {
      const a = tf.tensor(av, p.aShape);
      const b = tf.tensor(bv, p.bShape);
      const before = backend.numDataIds();
      const direct = run(a, b, p, 'direct');
      const transposed = run(a, b, p, 'transposed');
      const leaked = backend.numDataIds() - before;
      tf.dispose([a, b]);
      if (leaked !== 0) throw new Error(`${leaked} heap tensors left behind: ${JSON.stringify(p)}`);
      if (!direct.every((v, i) => Object.is(v, transposed[i]))) throw new Error(`layouts differ: ${JSON.stringify(p)}`);
    }),
    { seed: SEED, numRuns: 80 },
  );
  t.pass();
});

serial('the layout: transposed for fresh weights and dy·Wᵀ, direct for xᵀ·dy and for weights used again', (t) => {
  // A dense layer 784→200 at batch 10: forward x·W, dW = xᵀ·dy, dx = dy·Wᵀ.
  t.is(chooseMatMulLayout(10, 784, 200, false, false, false), 'transposed');
  t.is(chooseMatMulLayout(10, 784, 200, false, false, true), 'direct');
  t.is(chooseMatMulLayout(784, 10, 200, true, false, false), 'direct');
  t.is(chooseMatMulLayout(10, 200, 784, false, true, false), 'transposed');
  // A large batch makes packing W cheaper than transposing W, x and the output.
  t.is(chooseMatMulLayout(400, 784, 200, false, false, false), 'direct');
});

serial('a weight matrix used again takes the direct layout (its packed operator is cached)', async (t) => {
  await initBackend('wasm');
  // Count the kernel's transposes by wrapping the registered Transpose.
  const transpose = tf.getKernel('Transpose', 'wasm')!;
  let transposes = 0;
  tf.unregisterKernel('Transpose', 'wasm');
  tf.registerKernel({ ...transpose, kernelFunc: (params) => (transposes++, transpose.kernelFunc(params)) });
  try {
    const x = tf.tensor2d(Array.from({ length: 10 * 784 }, (_, i) => Math.sin(i)), [10, 784]);
    const w = tf.tensor2d(Array.from({ length: 784 * 200 }, (_, i) => Math.cos(i)), [784, 200]);
    const first = tf.matMul(x, w);
    t.is(transposes, 3, 'first use: Wᵀ·xᵀ (W, x and the result transposed)');
    const second = tf.matMul(x, w);
    t.is(transposes, 3, 'second use: x·W, packing W once, no transpose');
    const third = tf.matMul(x, w);
    t.is(transposes, 3, 'third use: x·W on the cached packed W');
    t.deepEqual(second.dataSync(), first.dataSync());
    t.deepEqual(third.dataSync(), first.dataSync());
    tf.dispose([x, w, first, second, third]);
  } finally {
    tf.unregisterKernel('Transpose', 'wasm');
    tf.registerKernel(transpose);
  }
});

/** A 2NN-shaped dense net (64-32-32-10), a few SGD steps; data and weights from fixed formulas. */
function trainDenseNet(steps: number): number[][] {
  const wave = (n: number, k: number, s: number) => Array.from({ length: n }, (_, i) => s * Math.sin(k * i + 0.3));
  const vars = [
    tf.variable(tf.tensor2d(wave(64 * 32, 0.71, 0.25), [64, 32])),
    tf.variable(tf.zeros([32])),
    tf.variable(tf.tensor2d(wave(32 * 32, 0.53, 0.3), [32, 32])),
    tf.variable(tf.zeros([32])),
    tf.variable(tf.tensor2d(wave(32 * 10, 0.37, 0.4), [32, 10])),
    tf.variable(tf.zeros([10])),
  ];
  const x = tf.tensor2d(wave(12 * 64, 1.3, 1), [12, 64]);
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: 12 }, (_, i) => (i * 7) % 10), 'int32'), 10);
  const opt = tf.train.sgd(0.1);
  for (let s = 0; s < steps; s++) {
    opt.minimize(() => {
      const h1 = tf.relu(x.matMul(vars[0]).add(vars[1]));
      const h2 = tf.relu(h1.matMul(vars[2]).add(vars[3]));
      return tf.losses.softmaxCrossEntropy(y, h2.matMul(vars[4]).add(vars[5])) as tf.Scalar;
    }, false, vars);
  }
  const weights = vars.map((v) => Array.from(v.dataSync()));
  tf.dispose([x, y, ...vars]);
  opt.dispose();
  return weights;
}

serial('a dense net trains bit-identically run to run on wasm, and as on cpu within rounding', async (t) => {
  await initBackend('wasm');
  const wasm = trainDenseNet(5);
  t.deepEqual(trainDenseNet(5), wasm);
  await tf.setBackend('cpu');
  const cpu = trainDenseNet(5);
  t.true(Math.max(...wasm.map((w, i) => maxAbsDiff(w, cpu[i]))) < 1e-5);
});
