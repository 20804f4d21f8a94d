/**
 * Where a training step's time goes on the wasm backend, kernel by kernel.
 *
 * Every kernel registered for wasm (tfjs' native ones and fedsim's) is wrapped
 * with a timer; `trainLocal` then trains the built-in models and the profile
 * prints each kernel's *self* time per SGD step (a kernel that calls another,
 * as fedsim's BatchMatMul calls Transpose, is charged without its callee), with
 * BatchMatMul split by operand shapes and transposes. "outside kernels" is the
 * rest of the step: tfjs' engine, the gradient tape, fedsim's batching.
 * samples/s is timed with the timers switched off (median of 3 epochs).
 *
 * Times are this process's CPU time (user + system, process.cpuUsage), not
 * wall time: on a shared machine other processes then stretch the figures far
 * less. tfjs-wasm runs on this one thread (V8's background GC adds a little).
 *
 *   npx tsx --conditions=fedsim-source bench/kernel-profile.ts [mlp|cnn|matmul|conv …] [--batch 10,50] [--native-matmul]

 * `matmul` times a dense layer's three products alone (784→200 as in the 2NN,
 * 3136→512 as the CNN's hidden layer), native BatchMatMul against fedsim's, with
 * the weight matrix fresh each call (training: packed anew) or the same tensor
 * (evaluation: the packed operator cached). `conv` times the CNN's conv
 * gradients on both routes of fedsim's kernels: the forward convolution they
 * take at stride 1 against the im2col/col2im GEMM they take otherwise.
 *
 * --native-matmul puts tfjs-backend-wasm's own BatchMatMul back in place of
 * fedsim's (src/runtime/wasm-kernels/batch-mat-mul.ts), the baseline for it in
 * the same process. Models: McMahan's 2NN (mlp 784-200-200-10) and CNN (conv
 * 5×5×32, pool, conv 5×5×64, pool, dense 512, dense 10), on seeded synthetic
 * 28×28 images.
 */
import * as tf from '@tensorflow/tfjs';
import { createModel, type ModelSpec, nn } from '../src/fl/models/index.js';
import { type Dataset, trainLocal } from '../src/fl/training/index.js';
import { describeBackend, initBackend } from '../src/runtime/backend.js';
import { nativeKernelFunc, wrapNativeKernels } from '../src/runtime/wasm-kernels/native-kernels.js';
import { conv2DBackpropFilter } from '../src/runtime/wasm-kernels/conv2d-backprop-filter.js';
import { conv2DBackpropInput } from '../src/runtime/wasm-kernels/conv2d-backprop-input.js';
import { MAX_SLICE_FLOATS } from '../src/runtime/wasm-kernels/gemm.js';
import { createStream } from '../src/runtime/rng.js';
import { table } from './timing.js';
import { syntheticImages } from './synthetic-images.js';

interface Case {
  model: 'mlp' | 'cnn';
  spec: ModelSpec;
  batch: number;
  /** Samples per timed epoch. */
  samples: number;
}

const SPECS = {
  mlp: nn.mlp([784, 200, 200, 10]),
  cnn: { kind: 'cnn', inputShape: [28, 28, 1], filters: [32, 64], kernelSize: 5, hidden: 512, classes: 10 } as ModelSpec,
};
/** Enough steps per epoch to average over, few enough to keep the CNN quick. */
const SAMPLES: Record<string, number> = { 'mlp 10': 600, 'mlp 50': 1500, 'cnn 10': 120, 'cnn 50': 300 };

const images = (n: number): Dataset => syntheticImages(n, 'bench/kernel-profile-data');

interface Entry {
  calls: number;
  selfMs: number;
}

/** Kernel timers: on only while a profile is taken. */
const profile = {
  on: false,
  entries: new Map<string, Entry>(),
  /** Time spent in callees of the kernels now running, innermost last. */
  childMs: [] as number[],
};

/** CPU milliseconds used by this process so far. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

const shape = (info: tf.TensorInfo, transposed: boolean) => `[${info.shape.join(',')}]${transposed ? 'ᵀ' : ''}`;

/**
 * A BatchMatMul's entry names its operands ("BatchMatMul [10,784]ᵀ·[10,200]"),
 * a Conv2D's its input and filter ("Conv2D [10,14,14,32]∗[5,5,32,64]"): the
 * conv gradients run as convolutions too.
 */
function label(kernelName: string, params: Parameters<tf.KernelFunc>[0]): string {
  if (/Conv2D$/.test(kernelName)) {
    const { x, filter } = params.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    return `${kernelName} ${shape(x, false)}∗${shape(filter, false)}`;
  }
  if (!/BatchMatMul|_FusedMatMul/.test(kernelName)) return kernelName;
  const { a, b } = params.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = params.attrs as unknown as tf.BatchMatMulAttrs;
  return `${kernelName} ${shape(a, transposeA)}·${shape(b, transposeB)}`;
}

function timed(kernelName: string, kernelFunc: tf.KernelFunc): tf.KernelFunc {
  return ((params: Parameters<tf.KernelFunc>[0]) => {
    if (!profile.on) return kernelFunc(params);
    profile.childMs.push(0);
    const start = cpuMs();
    try {
      return kernelFunc(params);
    } finally {
      const total = cpuMs() - start;
      const children = profile.childMs.pop()!;
      if (profile.childMs.length > 0) profile.childMs[profile.childMs.length - 1] += total;
      const key = label(kernelName, params);
      const entry = profile.entries.get(key) ?? { calls: 0, selfMs: 0 };
      entry.calls++;
      entry.selfMs += total - children;
      profile.entries.set(key, entry);
    }
  }) as tf.KernelFunc;
}

/**
 * Replaces every wasm kernel with a timed copy of itself (setup already ran),
 * and the native kernels fedsim's kernels call directly (the GEMM inside the
 * conv gradients and fedsim's BatchMatMul), whose entries are marked "native".
 */
function wrapAllKernels(): void {
  for (const config of tf.getKernelsForBackend('wasm')) {
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel({ ...config, kernelFunc: timed(config.kernelName, config.kernelFunc) });
  }
  wrapNativeKernels((name, kernelFunc) => timed(`native ${name}`, kernelFunc));
}

function oneEpoch(c: Case, data: Dataset, seed: number): { seconds: number; steps: number } {
  const model = createModel(c.spec, createStream(1, 'model/init'));
  try {
    const start = cpuMs();
    const { steps } = trainLocal(model, data, { epochs: 1, batchSize: c.batch, lr: 0.05 }, createStream(seed, 'bench/shuffle'));
    return { seconds: (cpuMs() - start) / 1000, steps };
  } finally {
    model.dispose();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function run(c: Case): string {
  const data = images(c.samples);
  oneEpoch(c, data, 0); // warm-up: JIT, kernel set-up
  const runs = [1, 2, 3].map((seed) => oneEpoch(c, data, seed));
  const steps = runs[0].steps;
  const stepMs = (1000 * median(runs.map((r) => r.seconds))) / steps;

  profile.entries.clear();
  profile.on = true;
  const profiled = oneEpoch(c, data, 4);
  profile.on = false;
  const profiledStepUs = (1e6 * profiled.seconds) / steps;
  const rows = [...profile.entries].map(([kernel, e]) => ({ kernel, calls: e.calls / steps, us: (1000 * e.selfMs) / steps }));
  rows.sort((a, b) => b.us - a.us);
  const inKernels = rows.reduce((s, r) => s + r.us, 0);
  const shown = rows.filter((r) => r.us >= 20);
  const rest = rows.filter((r) => r.us < 20);
  const out = shown.map((r) => ({ kernel: r.kernel, 'calls/step': r.calls.toFixed(0), 'µs/step': r.us.toFixed(0), share: `${((100 * r.us) / profiledStepUs).toFixed(1)}%` }));
  const restUs = rest.reduce((s, r) => s + r.us, 0);
  out.push({ kernel: `${rest.length} other kernels (< 20 µs each)`, 'calls/step': rest.reduce((s, r) => s + r.calls, 0).toFixed(0), 'µs/step': restUs.toFixed(0), share: `${((100 * restUs) / profiledStepUs).toFixed(1)}%` });
  const outside = profiledStepUs - inKernels;
  out.push({ kernel: 'outside kernels (engine, tape, batching)', 'calls/step': '', 'µs/step': outside.toFixed(0), share: `${((100 * outside) / profiledStepUs).toFixed(1)}%` });
  return (
    `### ${c.model} B=${c.batch}: ${((1000 * c.batch) / stepMs).toFixed(0)} samples/s, ${stepMs.toFixed(2)} ms/step ` +
    `(CPU time, median of 3 epochs of ${steps} steps, timers off); profiled step ${(profiledStepUs / 1000).toFixed(2)} ms\n\n${table(out)}\n`
  );
}

/** µs per call of fn (CPU time, median of 7 blocks of `reps` calls). */
function microseconds(fn: () => void, reps: number): number {
  for (let i = 0; i < reps; i++) fn();
  const blocks = Array.from({ length: 7 }, () => {
    const start = cpuMs();
    for (let i = 0; i < reps; i++) fn();
    return (1000 * (cpuMs() - start)) / reps;
  });
  return median(blocks);
}

/** A dense layer's products, native BatchMatMul against fedsim's, in µs per call. */
function matmulTable(batch: number, inputs: number, outputs: number): string {
  const fedsim = tf.getKernel('BatchMatMul', 'wasm')!.kernelFunc;
  const native = nativeKernelFunc('BatchMatMul');
  const backend = tf.backend();
  const wave = (shape: number[], k: number) => tf.tensor(Float32Array.from({ length: shape[0] * shape[1] }, (_, i) => Math.sin(k * i)), shape);
  const x = wave([batch, inputs], 1.3);
  const w = wave([inputs, outputs], 0.7);
  const dy = wave([batch, outputs], 0.4);
  const products: [string, tf.Tensor, tf.Tensor, boolean, boolean, boolean][] = [
    [`x·W [${batch},${inputs}]·[${inputs},${outputs}], W fresh (training)`, x, w, false, false, true],
    [`x·W, the same W again (evaluation)`, x, w, false, false, false],
    [`dW = xᵀ·dy`, x, dy, true, false, false],
    [`dx = dy·Wᵀ`, dy, w, false, true, false],
  ];
  const reps = Math.max(3, Math.round(2e8 / (batch * inputs * outputs)));
  const rows = products.map(([name, a, b, transposeA, transposeB, fresh]) => {
    const time = (kernelFunc: tf.KernelFunc) =>
      microseconds(() => {
        // A fresh copy of b is a new tensor to the GEMM: packed again, as after an SGD step.
        const right = fresh ? tf.clone(b) : b;
        const out = kernelFunc({ inputs: { a, b: right }, backend, attrs: { transposeA, transposeB } }) as tf.TensorInfo;
        backend.disposeData(out.dataId);
        if (fresh) right.dispose();
      }, reps);
    const before = time(native);
    const after = time(fedsim);
    return { product: name, 'native µs': before.toFixed(0), 'fedsim µs': after.toFixed(0), speed: `${(before / after).toFixed(1)}×` };
  });
  tf.dispose([x, w, dy]);
  return `### BatchMatMul alone, B=${batch}, dense ${inputs}→${outputs} (CPU time, median of 7 blocks of ${reps})\n\n${table(rows)}\n`;
}

/** The CNN's conv gradients on the GEMM and the convolution route, ms per call (interleaved, median of 7). */
function convTable(batch: number): string {
  const backend = tf.backend();
  const wave = (shape: number[], k: number) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(k * i)), shape);
  const layers: [string, number[], number[]][] = [
    ['conv 5×5 1→32 on 28×28', [batch, 28, 28, 1], [5, 5, 1, 32]],
    ['conv 5×5 32→64 on 14×14', [batch, 14, 14, 32], [5, 5, 32, 64]],
  ];
  const rows: Array<Record<string, string>> = [];
  for (const [name, xShape, fShape] of layers) {
    const x = wave(xShape, 1.3);
    const filter = wave(fShape, 0.7);
    const dy = wave([...xShape.slice(0, 3), fShape[3]], 0.4);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: fShape, inputShape: xShape } as unknown as tf.NamedAttrMap;
    const kernels = {
      'dW GEMM': () => conv2DBackpropFilter({ inputs: { x, dy }, backend, attrs }, MAX_SLICE_FLOATS, 'gemm'),
      'dW auto': () => conv2DBackpropFilter({ inputs: { x, dy }, backend, attrs }),
      'dx GEMM': () => conv2DBackpropInput({ inputs: { dy, filter }, backend, attrs }, MAX_SLICE_FLOATS, 'gemm'),
      'dx auto': () => conv2DBackpropInput({ inputs: { dy, filter }, backend, attrs }),
    };
    const times: Record<string, number[]> = {};
    for (const [key, run] of Object.entries(kernels)) {
      backend.disposeData(run().dataId); // warm-up
      times[key] = [];
    }
    for (let r = 0; r < 7; r++) {
      for (const [key, run] of Object.entries(kernels)) {
        const start = cpuMs();
        backend.disposeData(run().dataId);
        times[key].push(cpuMs() - start);
      }
    }
    const ms = (key: string) => median(times[key]);
    rows.push({
      layer: name,
      'dW GEMM ms': ms('dW GEMM').toFixed(1),
      'dW auto ms': ms('dW auto').toFixed(1),
      'dW speed': `${(ms('dW GEMM') / ms('dW auto')).toFixed(1)}×`,
      'dx GEMM ms': ms('dx GEMM').toFixed(1),
      'dx auto ms': ms('dx auto').toFixed(1),
      'dx speed': `${(ms('dx GEMM') / ms('dx auto')).toFixed(1)}×`,
    });
    tf.dispose([x, filter, dy]);
  }
  return `### Conv gradients by route, B=${batch} (CPU time, interleaved, median of 7)\n\n${table(rows)}\n\nGEMM: the im2col/col2im route, forced; auto: the route the kernel takes (the convolution at stride 1; for dx only from 8 input channels, so the first layer's dx is GEMM either way — and never needed in training: tfjs skips the input's gradient).\n`;
}

const args = process.argv.slice(2);
const nativeMatMul = args.includes('--native-matmul');
const batchArg = args.indexOf('--batch');
const batches = batchArg >= 0 ? args[batchArg + 1].split(',').map(Number) : [10, 50];
const models = args.filter((a, i) => !a.startsWith('--') && (batchArg < 0 || i !== batchArg + 1)) as Case['model'][];
for (const m of models) if (!(m in SPECS) && !['matmul', 'conv'].includes(m)) throw new Error(`unknown model '${m}': use mlp, cnn, matmul or conv`);

await initBackend('wasm');
if (nativeMatMul) {
  const native = nativeKernelFunc('BatchMatMul');
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: native });
}
wrapAllKernels();
console.log(`# wasm kernel profile — node ${process.version}; ${describeBackend().version} ${describeBackend().detail}${nativeMatMul ? '; BATCHMATMUL: NATIVE (--native-matmul)' : ''}\n`);
for (const model of models.length ? models : (['mlp', 'cnn'] as const)) {
  for (const batch of batches) {
    if ((model as string) === 'conv') {
      console.log(convTable(batch));
      continue;
    }
    if ((model as string) === 'matmul') {
      console.log(matmulTable(batch, 784, 200));
      console.log(matmulTable(batch, 3136, 512));
      continue;
    }
    console.log(run({ model, spec: SPECS[model], batch, samples: SAMPLES[`${model} ${batch}`] ?? 20 * batch }));
  }
}
