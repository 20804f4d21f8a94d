/**
 * DP-SGD's vectorised per-example gradients against tfjs's own: one tf.variableGrads per
 * example through the model's own forward (perExampleGradientsByLoop), on random small
 * shapes of every layer type fedsim's models use — dense (mlp, logistic, linear with MSE),
 * McMahan's CNN (conv 'same' + max-pool), and tfjs-layers chains with strided / 'valid'
 * Conv2D, Dense on 3-D inputs, pooling and the usual activations — on cpu and on wasm
 * (whose conv filter gradient is fedsim's own kernel). Checked: the program's forward, every
 * per-example gradient, the per-example norms, and the clipped sums for each norm method;
 * the clipped gradients' norms stay within C. Unsupported layers are refused by name.
 */
import test from 'ava';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { createStream } from '../src/runtime/rng.js';
import { FlConfigError } from '../src/fl/errors.js';
import { type Model, createModel, fromLayers, nn } from '../src/fl/models/index.js';
import { lossFunction } from '../src/fl/training/losses.js';
import { clippedGradientSum, perExampleGradients, type NormMethod } from '../src/fl/training/dp-sgd/per-example-gradients.js';
import { perExampleGradientsByLoop } from '../src/fl/training/dp-sgd/per-example-loop.js';
import { layerProgram, runProgram } from '../src/fl/training/dp-sgd/layer-program.js';
import { DpConfigError } from '../src/dp/errors.js';

const BACKENDS = ['cpu', 'wasm'] as const;
const ACTIVATIONS = ['linear', 'relu', 'tanh', 'sigmoid', 'elu'] as const;

/** A model of one of the kinds, with shapes drawn by fast-check and weights from the seeded stream. */
type ModelCase =
  | { kind: 'mlp'; layers: number[] }
  | { kind: 'logistic'; inputs: number; classes: number }
  | { kind: 'linear'; inputs: number; outputs: number }
  | { kind: 'cnn'; size: number; channels: number; filters: [number, number]; kernelSize: number; hidden: number; classes: number }
  | {
      kind: 'layers-conv';
      size: number;
      channels: number;
      kernel: [number, number];
      strides: number;
      padding: 'same' | 'valid';
      filters: number;
      activation: (typeof ACTIVATIONS)[number];
      useBias: boolean;
      pool: boolean;
      classes: number;
      softmax: boolean;
    }
  | { kind: 'layers-dense3d'; steps: number; features: number; units: number; activation: (typeof ACTIVATIONS)[number]; classes: number };

const width = fc.integer({ min: 1, max: 6 });
const activation = fc.constantFrom(...ACTIVATIONS);
const modelCase: fc.Arbitrary<ModelCase> = fc.oneof(
  fc.record({ kind: fc.constant('mlp' as const), layers: fc.array(width, { minLength: 2, maxLength: 4 }).map((l) => [...l.slice(0, -1), Math.max(2, l[l.length - 1])]) }),
  fc.record({ kind: fc.constant('logistic' as const), inputs: width, classes: fc.integer({ min: 2, max: 5 }) }),
  fc.record({ kind: fc.constant('linear' as const), inputs: width, outputs: fc.integer({ min: 1, max: 3 }) }),
  fc.record({
    kind: fc.constant('cnn' as const),
    size: fc.integer({ min: 4, max: 9 }),
    channels: fc.integer({ min: 1, max: 2 }),
    filters: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    kernelSize: fc.integer({ min: 1, max: 3 }),
    hidden: fc.integer({ min: 1, max: 5 }),
    classes: fc.integer({ min: 2, max: 4 }),
  }),
  fc.record({
    kind: fc.constant('layers-conv' as const),
    size: fc.integer({ min: 5, max: 9 }),
    channels: fc.integer({ min: 1, max: 3 }),
    kernel: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    strides: fc.integer({ min: 1, max: 2 }),
    padding: fc.constantFrom('same' as const, 'valid' as const),
    filters: fc.integer({ min: 1, max: 4 }),
    activation,
    useBias: fc.boolean(),
    pool: fc.boolean(),
    classes: fc.integer({ min: 2, max: 4 }),
    softmax: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('layers-dense3d' as const), steps: fc.integer({ min: 1, max: 4 }), features: width, units: width, activation, classes: fc.integer({ min: 2, max: 4 }) }),
);

function buildModel(c: ModelCase, seed: number): Model {
  const rng = createStream(seed, 'model/init');
  switch (c.kind) {
    case 'mlp':
      return createModel(nn.mlp(c.layers), rng);
    case 'logistic':
      return createModel(nn.logistic(c.inputs, c.classes), rng);
    case 'linear':
      return createModel(nn.linear(c.inputs, c.outputs), rng);
    case 'cnn':
      return createModel(nn.cnn({ inputShape: [c.size, c.size, c.channels], filters: c.filters, kernelSize: c.kernelSize, hidden: c.hidden, classes: c.classes }), rng);
    case 'layers-conv': {
      const layers: tf.layers.Layer[] = [
        tf.layers.conv2d({ inputShape: [c.size, c.size, c.channels], filters: c.filters, kernelSize: c.kernel, strides: c.strides, padding: c.padding, activation: c.activation, useBias: c.useBias }),
      ];
      if (c.pool) layers.push(tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }));
      layers.push(tf.layers.flatten(), tf.layers.dense({ units: c.classes, activation: c.softmax ? 'softmax' : 'linear' }));
      return fromLayersOnce(layers, rng);
    }
    case 'layers-dense3d': {
      const layers = [
        tf.layers.reshape({ inputShape: [c.steps * c.features], targetShape: [c.steps, c.features] }),
        tf.layers.dense({ units: c.units, activation: c.activation }),
        tf.layers.flatten(),
        tf.layers.dense({ units: c.classes }),
      ];
      return fromLayersOnce(layers, rng);
    }
  }
}

/** fedsim's copy of a Sequential model of `layers` (the tfjs model itself is disposed: fromLayers keeps none of it). */
function fromLayersOnce(layers: tf.layers.Layer[], rng: ReturnType<typeof createStream>): Model {
  const sequential = tf.sequential({ layers });
  try {
    return fromLayers(sequential, rng);
  } finally {
    sequential.dispose();
  }
}

/** A seeded batch for the model: features ~ N(0, 1), class labels (or regression targets for MSE). */
function batchFor(model: Model, size: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const rng = createStream(seed, 'batch');
  const x = tf.tensor2d(Float32Array.from({ length: size * model.inputSize }, () => rng.normal()), [size, model.inputSize]);
  if (model.loss === 'mse') return { x, y: tf.tensor2d(Float32Array.from({ length: size * model.outputSize }, () => rng.normal()), [size, model.outputSize]) };
  const labels = Int32Array.from({ length: size }, () => rng.int(model.outputSize));
  return { x, y: tf.oneHot(tf.tensor1d(labels, 'int32'), model.outputSize).toFloat() as tf.Tensor2D };
}

/** max |a − b| ≤ tolerance · max(1, max |b|): float32 sums in another order agree to a few ulps of the largest term. */
function assertClose(t: { true(value: boolean, message?: string): void }, a: ArrayLike<number>, b: ArrayLike<number>, what: string, tolerance = 1e-4): void {
  let scale = 1;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  t.true(a.length === b.length && worst <= tolerance * scale, `${what}: max difference ${worst} (scale ${scale}, ${a.length} vs ${b.length} values)`);
}

for (const backend of BACKENDS) {
  test.serial(`${backend}: vectorised per-example gradients, norms and clipped sums equal one tf.grads per example, for every supported layer type`, async (t) => {
    await initBackend(backend);
    const before = tf.memory().numTensors;
    fc.assert(
      fc.property(modelCase, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0.05, max: 5, noNaN: true }), (c, batchSize, seed, clip) => {
        const model = buildModel(c, seed);
        try {
          tf.tidy(() => {
            const { x, y } = batchFor(model, batchSize, seed);
            const lossFn = lossFunction(model.loss);
            const program = layerProgram(model);
            const where = `${JSON.stringify(c)}, B=${batchSize}`;
            assertClose(t, runProgram(program, x).dataSync(), model.forward(x).dataSync(), `forward ${where}`);

            const reference = perExampleGradientsByLoop(model, x, y, lossFn);
            const { grads } = perExampleGradients(program, model.trainable, x, y, lossFn);
            reference.forEach((r, v) => {
              t.deepEqual(grads[v].shape, r.shape, `shape of ${model.paramNames[v]} ${where}`);
              assertClose(t, grads[v].dataSync(), r.dataSync(), `per-example gradient of ${model.paramNames[v]} ${where}`);
            });

            // The reference's norms, scales and clipped sum, computed from the reference gradients alone.
            const refNorms = tf.sqrt(tf.addN(reference.map((r) => tf.sum(tf.square(tf.reshape(r, [batchSize, -1])), 1))));
            const refScale = tf.div(clip, tf.maximum(refNorms, clip));
            const refSums = reference.map((r) => tf.sum(tf.mul(r, tf.reshape(refScale, [batchSize, ...r.shape.slice(1).map(() => 1)])), 0));
            for (const method of ['auto', 'ghost', 'materialise'] as NormMethod[]) {
              const clipped = clippedGradientSum(program, model.trainable, x, y, lossFn, clip, { norms: method });
              assertClose(t, clipped.norms.dataSync(), refNorms.dataSync(), `norms (${method}) ${where}`);
              clipped.sums.forEach((s, v) => assertClose(t, s.dataSync(), refSums[v].dataSync(), `clipped sum of ${model.paramNames[v]} (${method}) ${where}`));
              // Every clipped per-example gradient s_i·g_i lies within C.
              const scale = tf.div(clip, tf.maximum(clipped.norms, clip));
              const clippedNorms = tf.mul(scale, refNorms).dataSync();
              clippedNorms.forEach((n, i) => t.true(n <= clip * (1 + 1e-5), `clipped norm ${n} of example ${i} exceeds C = ${clip} (${method}) ${where}`));
            }
          });
        } finally {
          model.dispose();
        }
      }),
      { numRuns: 40, seed: 15 },
    );
    t.is(tf.memory().numTensors, before, 'no tensor leaked');
  });
}

test.serial('the loss is Σ_i ℓ_i: the clipped sum with a huge C is B × the batch-mean gradient tfjs computes', async (t) => {
  await initBackend('cpu');
  const model = createModel(nn.mlp([6, 5, 3]), createStream(2, 'model/init'));
  tf.tidy(() => {
    const { x, y } = batchFor(model, 7, 3);
    const lossFn = lossFunction(model.loss);
    const { grads } = tf.variableGrads(() => lossFn(y, model.forward(x)), model.trainable as tf.Variable[]);
    const clipped = clippedGradientSum(layerProgram(model), model.trainable, x, y, lossFn, 1e9);
    model.trainable.forEach((v, i) => assertClose(t, clipped.sums[i].dataSync(), tf.mul(grads[v.name], 7).dataSync(), `sum of ${v.name}`, 1e-5));
  });
  model.dispose();
});

test.serial('layers DP-SGD cannot take per-example gradients through are refused by name, with what is supported', async (t) => {
  await initBackend('cpu');
  const rng = createStream(1, 'model/init');
  const cases: Array<[string, tf.layers.Layer[], RegExp]> = [
    ['BatchNormalization', [tf.layers.dense({ inputShape: [4], units: 3 }), tf.layers.batchNormalization(), tf.layers.dense({ units: 2 })], /layer 1 \('batch_normalization\w*', BatchNormalization\) normalises each example with statistics of the whole batch/],
    ['Embedding', [tf.layers.embedding({ inputDim: 5, outputDim: 2, inputLength: 3 }), tf.layers.flatten(), tf.layers.dense({ units: 2 })], /layer 0 \('embedding\w*', Embedding\) has weights whose per-example gradient DP-SGD cannot compute/],
    ['DepthwiseConv2D', [tf.layers.depthwiseConv2d({ inputShape: [5, 5, 2], kernelSize: 3 }), tf.layers.flatten(), tf.layers.dense({ units: 2 })], /DepthwiseConv2D\) has weights/],
    ['dilated Conv2D', [tf.layers.conv2d({ inputShape: [7, 7, 1], filters: 2, kernelSize: 2, dilationRate: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 2 })], /dilationRate \[2,2\]; tfjs differentiates conv2d only with dilation 1/],
  ];
  for (const [name, layers, message] of cases) {
    const model = fromLayersOnce(layers, rng);
    const error = t.throws(() => layerProgram(model), { instanceOf: FlConfigError }, name);
    t.regex(error!.message, message, name);
    t.regex(error!.message, /supported: Dense and Conv2D/, name);
    model.dispose();
  }
});

test.serial('a frozen Dense layer is applied as it is and gets no gradient; the trainable ones still match the reference', async (t) => {
  await initBackend('cpu');
  const frozen = tf.layers.dense({ inputShape: [4], units: 3, activation: 'relu', trainable: false });
  const model = fromLayersOnce([frozen, tf.layers.dense({ units: 2 })], createStream(4, 'model/init'));
  t.is(model.trainable.length, 2);
  tf.tidy(() => {
    const { x, y } = batchFor(model, 4, 9);
    const lossFn = lossFunction(model.loss);
    const { grads } = perExampleGradients(layerProgram(model), model.trainable, x, y, lossFn);
    perExampleGradientsByLoop(model, x, y, lossFn).forEach((r, v) => assertClose(t, grads[v].dataSync(), r.dataSync(), `gradient ${v}`));
  });
  model.dispose();
});

test.serial('a bad clip bound is refused with DpConfigError naming it', async (t) => {
  await initBackend('cpu');
  const model = createModel(nn.logistic(3, 2), createStream(1, 'model/init'));
  const program = layerProgram(model);
  tf.tidy(() => {
    const { x, y } = batchFor(model, 2, 1);
    for (const clip of [0, -1, NaN, Infinity]) {
      const error = t.throws(() => clippedGradientSum(program, model.trainable, x, y, lossFunction(model.loss), clip), { instanceOf: DpConfigError });
      t.regex(error!.message, /clip must be a finite number > 0/);
      t.is((error as DpConfigError).where.field, 'clip');
    }
  });
  model.dispose();
});
