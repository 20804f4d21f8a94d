/**
 * Local training of the built-in dense models (`linear`, `logistic`, `mlp`) in fedsim's fused
 * WebAssembly kernels (assembly/fused-dense.ts) instead of tfjs ops: the same minibatch SGD as
 * trainLocal's tfjs loop — same shuffles from the same stream, same batches, same loss, same
 * update rule — at a fraction of the cost, because a step is ~10 kernel calls on weights that
 * stay in wasm memory instead of ~60 tfjs ops.
 *
 * The numbers agree with the tfjs path to float32 rounding, not bit for bit (the sums run in
 * another order); a run is bit-identical to itself on any machine, and its log header names the
 * kernels (`fused dense vN`), so a replay under another kernel set is told apart.
 *
 * Used on the wasm backend (the default), for every optimiser (SGD, momentum, Nesterov, Adam),
 * with FedProx's μ and the affine gradient terms of FedProx, SCAFFOLD and FedDyn
 * (affine-terms.ts). Anything else — an algorithm's other gradient terms, DP-SGD, a CNN or a
 * layers model, the cpu backend (kept as the plain reference), or FEDSIM_FUSED_DENSE=0 — takes
 * the tfjs path; `fusedDenseRefusal` says why.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedDenseEnabled, fusedDenseKernels, Slot, UpdateRule, WasmArena } from '../../runtime/fused-dense/module.js';
import type { RandomStream } from '../../runtime/rng.js';
import { BuiltinModel } from '../models/builtin-model.js';
import type { Model } from '../models/model.js';
import type { LossName } from '../models/spec.js';
import type { Dataset } from './dataset.js';
import type { OptimizerConfig } from './optimizers.js';
import type { AffineGradientTerm } from './affine-terms.js';

/** What the fused path needs to know about a trainLocal call. */
export interface FusedDenseCall {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer?: OptimizerConfig;
  dropLast?: boolean;
  loss: LossName;
  /** FedProx's μ (0: none) and its anchor w_global (all weights, in weight order). */
  proxMu: number;
  globalWeights?: readonly Float32Array[];
  /** An algorithm's affine gradient term (FedProx, SCAFFOLD, FedDyn), added after proxMu's. */
  affineTerm?: AffineGradientTerm;
  /** True when the call adds an algorithm's gradient terms or runs DP-SGD: the fused path does neither. */
  needsTfjs: boolean;
}

/** Why `model` cannot be trained by the fused kernels under `call`, or null when it can. */
export function fusedDenseRefusal(model: Model, call: FusedDenseCall): string | null {
  if (!fusedDenseEnabled(tf.getBackend())) return 'the fused kernels run on the wasm backend only (or FEDSIM_FUSED_DENSE=0)';
  if (!(model instanceof BuiltinModel) || model.spec.kind === 'cnn') return 'only the built-in linear, logistic and mlp models are fused';
  if (call.needsTfjs) return 'gradient terms and DP-SGD run on tfjs ops';
  if (call.loss !== 'softmax-cross-entropy' && call.loss !== 'mse') return `loss '${call.loss}' is not fused`;
  return null;
}

/** One dense layer's place in wasm memory. */
interface LayerBuffers {
  inputs: number;
  outputs: number;
  /** The kernel's and the bias's blocks (weights + parallel buffers, see Slot) and the bytes between buffers. */
  kernel: number;
  kernelStride: number;
  bias: number;
  biasStride: number;
  /** The layer's output activations for one batch, [B, outputs]. */
  activations: number;
}

/** How the optimiser config reads in the kernels' terms. */
function updateRuleOf(optimizer: OptimizerConfig | undefined): { rule: number; momentum: number; beta2: number; epsilon: number } {
  if (optimizer === undefined || optimizer === 'sgd') return { rule: UpdateRule.sgd, momentum: 0, beta2: 0, epsilon: 0 };
  if (optimizer.name === 'adam') return { rule: UpdateRule.adam, momentum: optimizer.beta1 ?? 0.9, beta2: optimizer.beta2 ?? 0.999, epsilon: optimizer.epsilon ?? 1e-8 };
  const momentum = optimizer.momentum ?? 0;
  return { rule: momentum > 0 ? (optimizer.nesterov ? UpdateRule.nesterov : UpdateRule.momentum) : UpdateRule.sgd, momentum, beta2: 0, epsilon: 0 };
}

/**
 * Places one parameter's block: its weights, and each parallel buffer the call uses (the rest
 * keep whatever the memory held; the kernels never read them).
 */
function placeParameter(arena: WasmArena, values: Float32Array, buffers: Partial<Record<Exclude<keyof typeof Slot, 'weights' | 'count'>, Float32Array | 'zeros'>>): { at: number; stride: number } {
  const stride = Math.ceil(values.length / 4) * 16;
  const at = arena.alloc((stride / 4) * Slot.count);
  arena.f32(at, values.length).set(values);
  for (const [slot, content] of Object.entries(buffers)) {
    if (content === undefined) continue;
    const view = arena.f32(at + Slot[slot as keyof typeof buffers] * stride, values.length);
    if (content === 'zeros') view.fill(0);
    else view.set(content);
  }
  return { at, stride };
}

export interface FusedDenseResult {
  lossSum: number;
  seen: number;
  steps: number;
}

/**
 * Trains `model` (a fused-eligible BuiltinModel: check fusedDenseRefusal first) in place on the
 * n samples of `data`, drawing each epoch's shuffle from `rng` exactly as the tfjs loop does.
 */
export function trainFusedDense(model: Model, data: Dataset, n: number, call: FusedDenseCall, rng: RandomStream): FusedDenseResult {
  const kernels = fusedDenseKernels();
  const arena = new WasmArena(kernels);
  const B = Math.min(call.batchSize, n);
  const shapes = model.paramShapes;
  const weights = model.getWeights();
  const update = updateRuleOf(call.optimizer);
  const term = call.affineTerm;
  const inputSize = shapes[0][0];
  const outputSize = shapes[shapes.length - 1][0];
  const mse = call.loss === 'mse';

  // Everything is allocated before any view is taken: growing the memory detaches old views.
  const x = arena.put(data.x.subarray(0, n * inputSize));
  const targets = mse ? arena.put((data.y as Float32Array).subarray(0, n * outputSize)) : arena.put((data.y as Int32Array).subarray(0, n));
  const order = arena.alloc(n);
  const batchInputs = arena.alloc(B * inputSize);
  const batchTargets = arena.alloc(B * (mse ? outputSize : 1));
  const layers: LayerBuffers[] = [];
  let widest = 0;
  // Every parameter is placed before any view is kept: growing the memory detaches old views.
  const proxAnchors = call.proxMu > 0 ? call.globalWeights ?? weights : undefined;
  const buffersOf = (w: number) => ({
    proxAnchor: proxAnchors?.[w],
    termAnchor: term?.pull?.anchor[w],
    termOffset: term?.offset?.[w],
    velocity: update.rule !== UpdateRule.sgd ? ('zeros' as const) : undefined,
    secondMoment: update.rule === UpdateRule.adam ? ('zeros' as const) : undefined,
  });
  for (let w = 0; w < shapes.length; w += 2) {
    const [inputs, outputs] = shapes[w] as [number, number];
    widest = Math.max(widest, outputs);
    const kernel = placeParameter(arena, weights[w], buffersOf(w));
    const bias = placeParameter(arena, weights[w + 1], buffersOf(w + 1));
    layers.push({ inputs, outputs, kernel: kernel.at, kernelStride: kernel.stride, bias: bias.at, biasStride: bias.stride, activations: arena.alloc(B * outputs) });
  }
  // Two gradient buffers, used in turn from the top layer down.
  const gradients = [arena.alloc(B * widest), arena.alloc(B * widest)];

  kernels.setUpdate(update.rule, call.lr, update.momentum, update.beta2, update.epsilon, call.proxMu, term?.pull?.coefficient ?? 0, term?.offset !== undefined);
  const indexes = new Array<number>(n);
  let lossSum = 0;
  let seen = 0;
  let steps = 0;
  for (let epoch = 0; epoch < call.epochs; epoch++) {
    for (let i = 0; i < n; i++) indexes[i] = i;
    rng.shuffle(indexes);
    arena.i32(order, n).set(indexes);
    for (let start = 0; start < n; start += call.batchSize) {
      const rows = Math.min(n, start + call.batchSize) - start;
      if (call.dropLast && rows < call.batchSize) break;
      if (update.rule === UpdateRule.adam) {
        // As optimizers.ts: bias corrections in float64, used as float32 scalars.
        kernels.setAdamStep(1 - Math.pow(update.momentum, steps + 1), 1 - Math.pow(update.beta2, steps + 1));
      }
      kernels.gatherRows(x, order, start, rows, inputSize, batchInputs);
      if (mse) kernels.gatherRows(targets, order, start, rows, outputSize, batchTargets);
      else kernels.gatherLabels(targets, order, start, rows, batchTargets);
      let below = batchInputs;
      for (const [l, layer] of layers.entries()) {
        kernels.denseForward(below, layer.kernel, layer.bias, layer.activations, rows, layer.inputs, layer.outputs, l + 1 < layers.length);
        below = layer.activations;
      }
      const top = layers[layers.length - 1];
      const batchLoss = mse
        ? kernels.meanSquaredError(top.activations, batchTargets, gradients[0], rows, outputSize) / (rows * outputSize)
        : kernels.softmaxCrossEntropy(top.activations, batchTargets, gradients[0], rows, outputSize) / rows;
      for (let l = layers.length - 1, g = 0; l >= 0; l--, g ^= 1) {
        const layer = layers[l];
        const inputs = l > 0 ? layers[l - 1].activations : batchInputs;
        // The gradient for the layer below uses this layer's weights before they are updated.
        if (l > 0) kernels.backpropInput(gradients[g], layer.kernel, inputs, gradients[g ^ 1], rows, layer.inputs, layer.outputs);
        kernels.denseUpdate(inputs, gradients[g], layer.kernel, layer.bias, rows, layer.inputs, layer.outputs, layer.kernelStride, layer.biasStride);
      }
      lossSum += Math.fround(batchLoss) * rows;
      seen += rows;
      steps++;
    }
  }
  model.setWeights(layers.flatMap((layer) => [arena.f32(layer.kernel, layer.inputs * layer.outputs).slice(), arena.f32(layer.bias, layer.outputs).slice()]));
  return { lossSum, seen, steps };
}
