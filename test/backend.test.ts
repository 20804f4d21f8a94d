import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import {
  activeBackend,
  BackendUnavailableError,
  describeBackend,
  initBackend,
  type BackendName,
} from '../src/runtime/backend.js';
import { conv2DBackpropFilter } from '../src/runtime/wasm-kernels/conv2d-backprop-filter.js';
import { conv2DBackpropInput } from '../src/runtime/wasm-kernels/conv2d-backprop-input.js';
import {
  FEDSIM_WASM_KERNELS,
  MISSING_WASM_KERNELS,
  REPLACED_WASM_KERNELS,
  registerWasmKernels,
} from '../src/runtime/wasm-kernels/register.js';

// Every test switches the process-wide tfjs backend, so none may overlap.
const serial = test.serial;
const TOL = 1e-4;

/** Test data from a fixed formula: no RNG, the same on every backend. */
const wave = (n: number, k: number, scale = 1, phase = 0) =>
  Array.from({ length: n }, (_, i) => scale * Math.sin(k * i + phase));
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
type Shape4 = [number, number, number, number];

function maxAbsDiff(a: number[][], b: number[][]): number {
  let worst = 0;
  a.forEach((row, i) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - b[i][j])))));
  return worst;
}

/** Runs `fn` on each backend; tensors cross backends only as plain arrays. */
async function onBoth(fn: () => tf.Tensor[]): Promise<{ wasm: number[][]; cpu: number[][] }> {
  const out: Record<string, number[][]> = {};
  for (const name of ['wasm', 'cpu']) {
    await tf.setBackend(name);
    out[name] = tf.tidy(fn).map((t) => {
      const values = Array.from(t.dataSync());
      t.dispose();
      return values;
    });
  }
  return { wasm: out.wasm, cpu: out.cpu };
}

const tfjsNodeInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

async function withEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.FEDSIM_BACKEND;
  if (value === undefined) delete process.env.FEDSIM_BACKEND;
  else process.env.FEDSIM_BACKEND = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.FEDSIM_BACKEND;
    else process.env.FEDSIM_BACKEND = saved;
  }
}

serial('automatic choice: tensorflow if tfjs-node loads, else wasm; repeat calls are no-ops', async (t) => {
  const expected = tfjsNodeInstalled ? 'tensorflow' : 'wasm';
  const name = await withEnv(undefined, () => initBackend());
  t.is(name, expected);
  t.is(activeBackend(), expected);
  const instance = tf.backend();
  t.is(await withEnv(undefined, () => initBackend()), expected);
  t.is(tf.backend(), instance);
  const described = describeBackend();
  t.is(described.name, expected);
  t.regex(described.version, /^\d+\.\d+\.\d+/);
  if (expected === 'wasm') t.regex(described.detail, /SIMD, 1 thread.*tfjs-node is not installed/);
});

serial('FEDSIM_BACKEND pins the backend; an explicit argument overrides it', async (t) => {
  t.is(await withEnv('cpu', () => initBackend()), 'cpu');
  t.is(activeBackend(), 'cpu');
  t.regex(describeBackend().detail, /requested by FEDSIM_BACKEND=cpu/);
  t.is(await withEnv('cpu', () => initBackend('wasm')), 'wasm');
  t.regex(describeBackend().detail, /requested explicitly/);
  t.is(await withEnv(' cpu ', () => initBackend()), 'cpu');
});

serial('an unknown backend name is a clear error', async (t) => {
  const fromEnv = await t.throwsAsync(withEnv('gpu', () => initBackend()));
  t.regex(fromEnv!.message, /Unknown compute backend 'gpu' \(requested by FEDSIM_BACKEND=gpu\)/);
  t.regex(fromEnv!.message, /tensorflow, wasm, cpu/);
  const fromArg = await t.throwsAsync(initBackend('webgl' as BackendName));
  t.regex(fromArg!.message, /Unknown compute backend 'webgl' \(requested explicitly\)/);
});

serial('requesting tensorflow without tfjs-node fails and says what to do', async (t) => {
  if (tfjsNodeInstalled) {
    t.is(await initBackend('tensorflow'), 'tensorflow');
    return;
  }
  const err = await t.throwsAsync(initBackend('tensorflow'), { instanceOf: BackendUnavailableError });
  t.regex(err!.message, /'tensorflow' is unavailable \(requested explicitly\)/);
  t.regex(err!.message, /@tensorflow\/tfjs-node is not installed/);
  t.regex(err!.message, /npm install @tensorflow\/tfjs-node/);
  t.is(await initBackend('wasm'), 'wasm');
});

serial('missing, broken and slow gradient kernels are registered once for wasm', async (t) => {
  await initBackend('wasm');
  const ours = [...MISSING_WASM_KERNELS, ...REPLACED_WASM_KERNELS, ...FEDSIM_WASM_KERNELS];
  t.deepEqual([...registerWasmKernels()].sort(), [
    'BatchMatMul',
    'Conv2DBackpropFilter',
    'Conv2DBackpropInput',
    'DepthwiseConv2dNativeBackpropFilter',
    'DepthwiseConv2dNativeBackpropInput',
    'FedsimConv2DBackpropFilterPerExample',
    'MaxPoolGrad',
  ]);
  t.is(registerWasmKernels(), registerWasmKernels());
  for (const k of ours) t.is(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc, k.kernelFunc, k.kernelName);
  t.truthy(tf.getKernel('AvgPoolGrad', 'wasm'), 'native AvgPoolGrad is kept');
});

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
interface ConvCase {
  x: Shape4;
  f: Shape4;
  strides: number | [number, number];
  pad: Pad;
  round?: 'floor' | 'ceil' | 'round';
}
const convCases: ConvCase[] = [
  { x: [2, 8, 8, 1], f: [5, 5, 1, 4], strides: 1, pad: 'valid' },
  { x: [2, 9, 7, 3], f: [3, 3, 3, 5], strides: 2, pad: 'same' },
  { x: [1, 10, 10, 2], f: [3, 2, 2, 3], strides: [2, 3], pad: 'valid' },
  { x: [3, 6, 6, 2], f: [4, 4, 2, 2], strides: 1, pad: 'same' },
  { x: [2, 7, 7, 2], f: [3, 3, 2, 3], strides: 2, pad: 1, round: 'ceil' },
  { x: [1, 6, 5, 2], f: [3, 3, 2, 2], strides: 1, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
];

serial('conv2d gradients (input and filter) on wasm match cpu', async (t) => {
  await initBackend('wasm');
  for (const c of convCases) {
    const { wasm, cpu } = await onBoth(() => {
      const x = tf.tensor4d(wave(size(c.x), 1.3), c.x);
      const f = tf.tensor4d(wave(size(c.f), 0.7, 0.5), c.f);
      // Weighting the output makes dy non-uniform, so indexing slips show.
      const loss = (x: tf.Tensor, f: tf.Tensor) => {
        const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad, 'NHWC', 1, c.round);
        return y.mul(tf.tensor(wave(y.size, 0.37, 1, 0.2), y.shape)).sum();
      };
      return tf.grads(loss)([x, f]);
    });
    t.true(maxAbsDiff(wasm, cpu) < TOL, JSON.stringify(c));
  }
});

serial('the conv2d backprop kernels also handle NCHW and batch slicing', async (t) => {
  await initBackend('wasm');
  // NCHW: wasm's forward Conv2D refuses it, but the kernels can be run directly.
  const nchw = { strides: 2, pad: 'same', dataFormat: 'NCHW' };
  const { wasm, cpu } = await onBoth(() => {
    const x = tf.tensor4d(wave(2 * 3 * 7 * 6, 0.9), [2, 3, 7, 6]);
    const dy = tf.tensor4d(wave(2 * 4 * 4 * 3, 0.4, 1, 1), [2, 4, 4, 3]);
    const f = tf.tensor4d(wave(3 * 3 * 3 * 4, 0.8), [3, 3, 3, 4]);
    return [
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...nchw, filterShape: [3, 3, 3, 4] }) as tf.Tensor,
      tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...nchw, inputShape: [2, 3, 7, 6] }) as tf.Tensor,
    ];
  });
  t.true(maxAbsDiff(wasm, cpu) < TOL, 'NCHW');

  // 5 images in slices of 2 (the last one short) vs cpu's single pass.
  await tf.setBackend('wasm');
  const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3], inputShape: [5, 6, 6, 2] };
  const make = () => ({
    x: tf.tensor4d(wave(5 * 6 * 6 * 2, 0.9), [5, 6, 6, 2]),
    dy: tf.tensor4d(wave(5 * 3 * 3 * 3, 0.4), [5, 3, 3, 3]),
    filter: tf.tensor4d(wave(3 * 3 * 2 * 3, 0.8), [3, 3, 2, 3]),
  });
  const read = (info: tf.TensorInfo) => {
    const values = Array.from(tf.backend().readSync(info.dataId) as Float32Array);
    tf.backend().disposeData(info.dataId);
    return values;
  };
  const w = make();
  const twoImages = 3 * 3 * 2 * 9 * 2; // K · pixels · 2
  const sliced = [
    read(conv2DBackpropFilter({ inputs: w, backend: tf.backend(), attrs }, twoImages)),
    read(conv2DBackpropInput({ inputs: w, backend: tf.backend(), attrs }, twoImages)),
  ];
  await tf.setBackend('cpu');
  const c = make();
  const whole = [
    Array.from((tf.engine().runKernel('Conv2DBackpropFilter', { x: c.x, dy: c.dy }, attrs) as tf.Tensor).dataSync()),
    Array.from((tf.engine().runKernel('Conv2DBackpropInput', { dy: c.dy, filter: c.filter }, attrs) as tf.Tensor).dataSync()),
  ];
  t.true(maxAbsDiff(sliced, whole) < TOL, 'sliced');
});

serial('depthwiseConv2d gradients on wasm match cpu', async (t) => {
  await initBackend('wasm');
  const cases: ConvCase[] = [
    { x: [2, 8, 8, 2], f: [3, 3, 2, 1], strides: 1, pad: 'same' },
    { x: [2, 9, 7, 3], f: [3, 3, 3, 2], strides: 2, pad: 'valid' },
    { x: [1, 7, 7, 2], f: [2, 4, 2, 3], strides: [2, 1], pad: 'same' },
  ];
  for (const c of cases) {
    const { wasm, cpu } = await onBoth(() => {
      const x = tf.tensor4d(wave(size(c.x), 1.1), c.x);
      const f = tf.tensor4d(wave(size(c.f), 0.6, 0.5), c.f);
      const loss = (x: tf.Tensor, f: tf.Tensor) => {
        const y = tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad as 'same');
        return y.mul(tf.tensor(wave(y.size, 0.29), y.shape)).sum();
      };
      return tf.grads(loss)([x, f]);
    });
    t.true(maxAbsDiff(wasm, cpu) < TOL, JSON.stringify(c));
  }
});

serial('depthwise gradient kernels honour dilations (vs a zero-stuffed filter)', async (t) => {
  await initBackend('wasm');
  // A 2x2 filter at dilation 2 is a 3x3 filter with zeros in between.
  const x = tf.tensor4d(wave(2 * 7 * 7 * 2, 1.1), [2, 7, 7, 2]);
  const w = wave(2 * 2 * 2, 0.8, 1, 0.3);
  const small = tf.tensor4d(w, [2, 2, 2, 1]);
  const stuffed = tf.buffer([3, 3, 2, 1]);
  for (let r = 0; r < 2; r++)
    for (let c = 0; c < 2; c++)
      for (let d = 0; d < 2; d++) stuffed.set(w[(r * 2 + c) * 2 + d], r * 2, c * 2, d, 0);
  const dy = tf.tensor4d(wave(2 * 7 * 7 * 2, 0.3), [2, 7, 7, 2]);
  const common = { strides: 1, pad: 'same', inputShape: x.shape };
  const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) =>
    Array.from((tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor).dataSync());
  const dxDilated = run('DepthwiseConv2dNativeBackpropInput', { dy, filter: small }, { ...common, dilations: 2 });
  const dxStuffed = run('DepthwiseConv2dNativeBackpropInput', { dy, filter: stuffed.toTensor() }, { ...common, dilations: 1 });
  t.true(maxAbsDiff([dxDilated], [dxStuffed]) < TOL);
  const dwDilated = run('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...common, dilations: 2, filterShape: [2, 2, 2, 1] });
  const dwStuffed = run('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...common, dilations: 1, filterShape: [3, 3, 2, 1] });
  const sampled = dwDilated.map((_, i) => {
    const [r, c, d] = [Math.floor(i / 4), Math.floor(i / 2) % 2, i % 2];
    return dwStuffed[(r * 2 * 3 + c * 2) * 2 + d];
  });
  t.true(maxAbsDiff([dwDilated], [sampled]) < TOL);
});

serial('maxPool and avgPool gradients on wasm match cpu', async (t) => {
  await initBackend('wasm');
  const cases = [
    { x: [2, 8, 8, 3] as Shape4, size: 2, strides: 2, pad: 'valid' as const },
    { x: [1, 7, 9, 2] as Shape4, size: 3, strides: 2, pad: 'same' as const },
    { x: [2, 6, 6, 1] as Shape4, size: 3, strides: 1, pad: 'valid' as const },
    { x: [1, 5, 7, 4] as Shape4, size: 2, strides: 1, pad: 'same' as const },
  ];
  for (const c of cases) {
    for (const pool of [tf.maxPool, tf.avgPool]) {
      const { wasm, cpu } = await onBoth(() => {
        const x = tf.tensor4d(wave(size(c.x), 1.3), c.x);
        const g = tf.grad((x: tf.Tensor) => {
          const y = pool(x as tf.Tensor4D, c.size, c.strides, c.pad);
          return y.mul(tf.tensor(wave(y.size, 0.31, 1, 0.1), y.shape)).sum();
        });
        return [g(x)];
      });
      t.true(maxAbsDiff(wasm, cpu) < TOL, `${pool.name} ${JSON.stringify(c)}`);
    }
  }
});

serial('maxPool gradient goes to the first maximum, also in all-negative windows', async (t) => {
  await initBackend('wasm');
  // Windows: all negative; tie of two maxima; positive max. Native wasm 4.22
  // loses the first window's gradient and picks the last of the tie.
  const x = [-3, -1, -2, -4, 2, 5, 5, 1, 0.5, 0.1, 0.9, 0.3];
  const { wasm, cpu } = await onBoth(() => {
    const g = tf.grad((v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, [2, 2], 2, 'valid').mul(tf.tensor4d([1, 2, 3], [3, 1, 1, 1])).sum());
    return [g(tf.tensor4d(x, [3, 2, 2, 1]))];
  });
  t.deepEqual(wasm, [[0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0]]);
  t.deepEqual(wasm, cpu);
});

/** Tiny CNN: conv 5x5x1→4, relu, maxPool 2x2, flatten, dense 10, softmax CE. */
function trainTinyCnn(steps: number): { losses: number[]; weights: number[][] } {
  const batch = 4;
  const x = tf.tensor4d(wave(batch * 12 * 12, 0.9), [batch, 12, 12, 1]);
  const y = tf.oneHot(tf.tensor1d([3, 7, 1, 3], 'int32'), 10);
  const vars = [
    tf.variable(tf.tensor4d(wave(5 * 5 * 4, 0.7, 0.2), [5, 5, 1, 4])),
    tf.variable(tf.tensor1d(wave(4, 1.9, 0.05))),
    tf.variable(tf.tensor2d(wave(64 * 10, 0.53, 0.1), [64, 10])),
    tf.variable(tf.zeros([10])),
  ];
  const [conv, convBias, dense, denseBias] = vars;
  const loss = () => {
    const h = tf.relu(tf.conv2d(x, conv as tf.Tensor4D, 1, 'valid').add<tf.Tensor4D>(convBias));
    const p = tf.maxPool(h, 2, 2, 'valid').reshape([batch, 64]);
    return tf.losses.softmaxCrossEntropy(y, p.matMul(dense).add(denseBias)) as tf.Scalar;
  };
  const opt = tf.train.sgd(0.1);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const l = opt.minimize(loss, true, vars)!;
    losses.push(l.dataSync()[0]);
    l.dispose();
  }
  losses.push(tf.tidy(() => loss().dataSync()[0]));
  const weights = vars.map((v) => Array.from(v.dataSync()));
  tf.dispose([x, y, ...vars]);
  opt.dispose();
  return { losses, weights };
}

serial('a tiny CNN trains on wasm and matches the cpu run', async (t) => {
  await initBackend('wasm');
  const wasm = trainTinyCnn(3);
  t.deepEqual(trainTinyCnn(3), wasm, 'a rerun on wasm is bit-identical');
  for (let i = 1; i < wasm.losses.length; i++) t.true(wasm.losses[i] < wasm.losses[i - 1], `${wasm.losses}`);
  await tf.setBackend('cpu');
  const cpu = trainTinyCnn(3);
  t.true(maxAbsDiff(wasm.weights, cpu.weights) < TOL);
  t.true(maxAbsDiff([wasm.losses], [cpu.losses]) < TOL);
});
