/**
 * A model as the chain of steps DP-SGD's per-example gradients are computed through.
 *
 * Per-example gradients need, for every layer with trainable weights, the layer's input a
 * and the gradient δ of the loss with respect to the layer's pre-activation output z = a·W + b
 * (or conv(a, W) + b): the per-example weight gradient is then a_i ⊗ δ_i (dense) or
 * U_iᵀ Δ_i (conv, U_i the unfolded patches of a_i), see per-example-gradients.ts. A model's
 * own `forward` hides z inside fused ops (tf.fused.conv2d with its ReLU, a layer's apply), so
 * this file describes the model as a program whose trainable steps are split into their
 * linear part and their activation, and whose other steps are applied as they are:
 *
 *   built-in models   linear, logistic, mlp, cnn: from the spec, with the model's variables,
 *                     the same layers as builtin-model.ts computes;
 *   layers models     a chain of tfjs-layers layers (Sequential, or functional with one
 *                     inbound layer each): Dense and Conv2D (trainable or frozen) and layers
 *                     without weights that act on each example alone (SUPPORTED_STATELESS_LAYERS).
 *
 * Anything else is refused by name, with the list of supported layers: a layer whose
 * per-example gradient this file cannot express (BatchNormalization mixes the examples of a
 * batch, so it has no per-example gradient at all — Opacus refuses it too; Embedding, LSTM,
 * depthwise and separable convolutions would each need their own rule).
 *
 * The program's forward is checked against the model's own `forward` by the tests
 * (test/dp-sgd-per-example.test.ts), so a program that drifted from its model is caught.
 */
import * as tf from '@tensorflow/tfjs';
import { FlConfigError } from '../../errors.js';
import { BuiltinModel } from '../../models/builtin-model.js';
import { LayersModelAdapter } from '../../models/layers-model.js';
import type { Model } from '../../models/model.js';
import type { CnnSpec, LayersSpec } from '../../models/spec.js';

type Activation = (z: tf.Tensor) => tf.Tensor;

/** y = activation(a·W + b) over the last axis of a (a may have more than two axes, as tfjs-layers' Dense allows). */
export interface DenseStep {
  kind: 'dense';
  name: string;
  kernel: tf.Variable;
  bias?: tf.Variable;
  activation: Activation;
}

/** y = activation(conv2d(a, W) + b), NHWC, W of shape [kh, kw, cin, cout], dilation 1 (the only one tfjs differentiates). */
export interface Conv2dStep {
  kind: 'conv2d';
  name: string;
  kernel: tf.Variable;
  bias?: tf.Variable;
  strides: [number, number];
  pad: 'same' | 'valid';
  activation: Activation;
}

/** A step without trainable weights (reshape, pooling, an activation, a frozen layer), applied to the whole batch. */
export interface FixedStep {
  kind: 'fixed';
  name: string;
  apply: (x: tf.Tensor) => tf.Tensor;
}

export type TrainableStep = DenseStep | Conv2dStep;
export type ProgramStep = TrainableStep | FixedStep;

export interface LayerProgram {
  readonly steps: readonly ProgramStep[];
  /** Features per example (the model's inputSize) and outputs per example. */
  readonly inputSize: number;
  readonly outputSize: number;
}

/** Layers without weights that act on each example alone (so a batch's outputs are its examples' outputs). */
export const SUPPORTED_STATELESS_LAYERS: readonly string[] = [
  'InputLayer',
  'Flatten',
  'Reshape',
  'Permute',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Softmax',
  'ThresholdedReLU',
  'MaxPooling1D',
  'MaxPooling2D',
  'AveragePooling1D',
  'AveragePooling2D',
  'GlobalMaxPooling1D',
  'GlobalMaxPooling2D',
  'GlobalAveragePooling1D',
  'GlobalAveragePooling2D',
  'ZeroPadding2D',
  'Cropping2D',
  'UpSampling2D',
  'RepeatVector',
];

export const SUPPORTED_SUMMARY = `Dense and Conv2D (channelsLast, padding 'same' or 'valid'), and layers without weights that act on each example alone (${SUPPORTED_STATELESS_LAYERS.filter((c) => c !== 'InputLayer').join(', ')})`;

const where = 'DP-SGD (per-example gradients)';

/** The pre-activation output z of a trainable step (no activation). */
export function preActivation(step: TrainableStep, a: tf.Tensor): tf.Tensor {
  if (step.kind === 'dense') {
    const units = step.kernel.shape[1] as number;
    const z2 = tf.matMul(a.rank === 2 ? (a as tf.Tensor2D) : tf.reshape(a, [-1, a.shape[a.rank - 1] as number]), step.kernel as tf.Tensor2D);
    const z = a.rank === 2 ? z2 : tf.reshape(z2, [...a.shape.slice(0, -1), units]);
    return step.bias ? tf.add(z, step.bias) : z;
  }
  const z = tf.conv2d(a as tf.Tensor4D, step.kernel as tf.Tensor4D, step.strides, step.pad);
  return step.bias ? tf.add(z, step.bias) : z;
}

/** The program's outputs for a batch x of shape [B, inputSize]: what model.forward computes, as [B, outputSize]. */
export function runProgram(program: LayerProgram, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    let h: tf.Tensor = x;
    for (const step of program.steps) h = step.kind === 'fixed' ? step.apply(h) : step.activation(preActivation(step, h));
    return tf.reshape(h, [x.shape[0], program.outputSize]) as tf.Tensor2D;
  });
}

/** The trainable steps, in program order. */
export function trainableSteps(program: LayerProgram): TrainableStep[] {
  return program.steps.filter((s): s is TrainableStep => s.kind !== 'fixed');
}

/**
 * The program of `model`, whose trainable steps hold exactly the model's trainable variables
 * (each once). An FlConfigError names the first layer it cannot take per-example gradients through.
 */
export function layerProgram(model: Model): LayerProgram {
  let steps: ProgramStep[];
  if (model instanceof BuiltinModel) steps = builtinSteps(model);
  else if (model instanceof LayersModelAdapter) steps = layersSteps(model);
  else {
    throw new FlConfigError(`${where}: a model of kind '${model.spec.kind}' built outside fedsim's createModel/fromLayers is not supported; build it with createModel or fromLayers`, { op: where, field: 'model' });
  }
  const program: LayerProgram = { steps, inputSize: model.inputSize, outputSize: model.outputSize };
  checkCoversTrainable(program, model);
  return program;
}

function builtinSteps(model: BuiltinModel): ProgramStep[] {
  const v = model.trainable;
  const spec = model.spec;
  const dense = (i: number, relu: boolean, name: string): DenseStep => ({ kind: 'dense', name, kernel: v[i], bias: v[i + 1], activation: relu ? tf.relu : identity });
  switch (spec.kind) {
    case 'linear':
    case 'logistic':
      return [dense(0, false, spec.kind)];
    case 'mlp': {
      const layers = v.length / 2;
      return Array.from({ length: layers }, (_, i) => dense(2 * i, i + 1 < layers, `dense${i}`));
    }
    case 'cnn':
      return cnnSteps(spec, v, dense);
  }
}

/** McMahan's CNN as builtin-model.ts computes it (there with tf.fused.conv2d; here conv, bias and ReLU apart). */
function cnnSteps(spec: CnnSpec, v: readonly tf.Variable[], dense: (i: number, relu: boolean, name: string) => DenseStep): ProgramStep[] {
  const [h, w, c] = spec.inputShape;
  const conv = (i: number, name: string): Conv2dStep => ({ kind: 'conv2d', name, kernel: v[i], bias: v[i + 1], strides: [1, 1], pad: 'same', activation: tf.relu });
  const pool: FixedStep = { kind: 'fixed', name: 'maxPool', apply: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid') };
  const flatSize = v[4].shape[0];
  return [
    { kind: 'fixed', name: 'input', apply: (x) => tf.reshape(x, [-1, h, w, c]) },
    conv(0, 'conv1'),
    pool,
    conv(2, 'conv2'),
    pool,
    { kind: 'fixed', name: 'flatten', apply: (x) => tf.reshape(x, [-1, flatSize]) },
    dense(4, true, 'dense1'),
    dense(6, false, 'dense2'),
  ];
}

function identity(z: tf.Tensor): tf.Tensor {
  return z;
}

/** A tfjs-layers layer, as far as this file reads it. */
type AnyLayer = tf.layers.Layer;

function layersSteps(model: LayersModelAdapter): ProgramStep[] {
  const spec = model.spec as LayersSpec;
  const layers = model.tfModel.layers;
  const steps: ProgramStep[] = [{ kind: 'fixed', name: 'input', apply: (x) => tf.reshape(x, [-1, ...spec.inputShape]) }];
  layers.forEach((layer, i) => {
    checkChain(layer, i === 0 ? undefined : layers[i - 1], i);
    const step = layerStep(layer, i);
    if (step) steps.push(step);
  });
  return steps;
}

/** A functional model is accepted when it is a chain: every layer reads exactly the layer before it (the first one reads the input). */
function checkChain(layer: AnyLayer, previous: AnyLayer | undefined, index: number): void {
  if (previous === undefined) return;
  const nodes = layer.inboundNodes;
  const inbound = nodes.length === 1 ? nodes[0].inboundLayers : [];
  if (inbound.length !== 1 || inbound[0] !== previous) {
    throw new FlConfigError(
      `${where}: layer ${index} ('${layer.name}', ${layer.getClassName()}) does not read only the layer before it; per-example gradients support models that are a chain of layers (Sequential); rewrite the model as one`,
      { op: where, field: `model.layers[${index}]` },
    );
  }
}

function layerStep(layer: AnyLayer, index: number): ProgramStep | undefined {
  const className = layer.getClassName();
  if (className === 'InputLayer') return undefined;
  const field = `model.layers[${index}]`;
  const refuse = (why: string): never => {
    throw new FlConfigError(`${where}: layer ${index} ('${layer.name}', ${className}) ${why}; supported: ${SUPPORTED_SUMMARY}`, { op: where, field, layer: className });
  };
  if (className === 'Dense' || className === 'Conv2D') {
    if (!layer.trainable) return { kind: 'fixed', name: layer.name, apply: (x) => layer.apply(x) as tf.Tensor };
    return className === 'Dense' ? denseStep(layer, refuse) : conv2dStep(layer, refuse);
  }
  if (layer.weights.length > 0) {
    refuse(
      className === 'BatchNormalization'
        ? 'normalises each example with statistics of the whole batch, so an example has no gradient of its own (Opacus refuses it too); remove it'
        : 'has weights whose per-example gradient DP-SGD cannot compute',
    );
  }
  if (!SUPPORTED_STATELESS_LAYERS.includes(className)) refuse('is not known to act on each example alone');
  return { kind: 'fixed', name: layer.name, apply: (x) => layer.apply(x) as tf.Tensor };
}

/** The layer's weights as [kernel, bias?], checked against what the layer says it uses. */
function kernelAndBias(layer: AnyLayer, kernelRank: number, useBias: boolean, refuse: (why: string) => never): { kernel: tf.Variable; bias?: tf.Variable } {
  const weights = layer.weights;
  const kernel = weights.find((w) => w.shape.length === kernelRank);
  const bias = weights.find((w) => w.shape.length === 1);
  if (!kernel || weights.length !== (useBias ? 2 : 1) || (useBias && !bias)) refuse(`has weights of shapes ${JSON.stringify(weights.map((w) => w.shape))}, not a kernel${useBias ? ' and a bias' : ''}`);
  if (weights.some((w) => !w.trainable)) refuse('has some weights frozen and others not; freeze the whole layer (layer.trainable = false) or none of it');
  return { kernel: kernel!.read() as tf.Variable, ...(useBias ? { bias: bias!.read() as tf.Variable } : {}) };
}

/**
 * The layer's own activation object. tfjs-layers keeps it in a non-public field; reading it
 * (rather than rebuilding an activation from its name) applies exactly the function the
 * model applies, and creates no layer (which would move tfjs's global layer-name counter).
 */
function layerActivation(layer: AnyLayer, refuse: (why: string) => never): Activation {
  const fn = (layer as unknown as { activation?: { apply?: (t: tf.Tensor) => tf.Tensor } }).activation;
  if (!fn || typeof fn.apply !== 'function') refuse('has no activation object this version of tfjs-layers exposes');
  return (z) => fn!.apply!(z);
}

function denseStep(layer: AnyLayer, refuse: (why: string) => never): DenseStep {
  const config = layer.getConfig() as { useBias?: boolean };
  return { kind: 'dense', name: layer.name, ...kernelAndBias(layer, 2, config.useBias !== false, refuse), activation: layerActivation(layer, refuse) };
}

function conv2dStep(layer: AnyLayer, refuse: (why: string) => never): Conv2dStep {
  const config = layer.getConfig() as { useBias?: boolean; strides?: number | number[]; padding?: string; dataFormat?: string; dilationRate?: number | number[] };
  if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') refuse(`uses dataFormat '${config.dataFormat}'; use channelsLast (NHWC)`);
  if (config.padding !== 'same' && config.padding !== 'valid') refuse(`uses padding '${config.padding}'; use 'same' or 'valid'`);
  const pair = (value: number | number[] | undefined): [number, number] => (value === undefined ? [1, 1] : typeof value === 'number' ? [value, value] : [value[0], value[1] ?? value[0]]);
  const dilations = pair(config.dilationRate);
  // tfjs's conv2d gradient asserts dilation 1, so a dilated layer cannot be trained at all, DP or not.
  if (dilations[0] !== 1 || dilations[1] !== 1) refuse(`has dilationRate ${JSON.stringify(config.dilationRate)}; tfjs differentiates conv2d only with dilation 1, so this layer cannot be trained`);
  return {
    kind: 'conv2d',
    name: layer.name,
    ...kernelAndBias(layer, 4, config.useBias !== false, refuse),
    strides: pair(config.strides),
    pad: config.padding,
    activation: layerActivation(layer, refuse),
  };
}

/** Every trainable variable of the model is the kernel or bias of exactly one trainable step. */
function checkCoversTrainable(program: LayerProgram, model: Model): void {
  const covered = new Set<tf.Variable>();
  for (const step of trainableSteps(program)) {
    for (const v of [step.kernel, step.bias]) if (v) covered.add(v);
  }
  const missing = model.trainable.map((v, i) => (covered.has(v) ? -1 : i)).filter((i) => i >= 0);
  if (missing.length > 0 || covered.size !== model.trainable.length) {
    const names = missing.map((i) => model.paramNames[model.trainableIndices[i]]).join(', ');
    throw new FlConfigError(`${where}: the model's trainable weights ${names || '(some)'} belong to no layer whose per-example gradient DP-SGD computes; supported: ${SUPPORTED_SUMMARY}`, { op: where, field: 'model' });
  }
}
