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
 * Used on the wasm backend (the default), for plain SGD, momentum or Nesterov, with or without
 * FedProx's μ. Anything else — Adam, an algorithm's gradient terms, DP-SGD, a CNN or a layers
 * model, the cpu backend (kept as the plain reference), or FEDSIM_FUSED_DENSE=0 — takes the tfjs
 * path; `fusedDenseRefusal` says why.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedDenseEnabled, fusedDenseKernels, UpdateRule, WasmArena } from '../../runtime/fused-dense/module.js';
import type { RandomStream } from '../../runtime/rng.js';
import { BuiltinModel } from '../models/builtin-model.js';
import type { Model } from '../models/model.js';
import type { LossName } from '../models/spec.js';
import type { Dataset } from './dataset.js';
import type { OptimizerConfig } from './optimizers.js';

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
  /** True when the call adds an algorithm's gradient terms or runs DP-SGD: the fused path does neither. */
  needsTfjs: boolean;
}

/** Why `model` cannot be trained by the fused kernels under `call`, or null when it can. */
export function fusedDenseRefusal(model: Model, call: FusedDenseCall): string | null {
  if (!fusedDenseEnabled(tf.getBackend())) return 'the fused kernels run on the wasm backend only (or FEDSIM_FUSED_DENSE=0)';
  if (!(model instanceof BuiltinModel) || model.spec.kind === 'cnn') return 'only the built-in linear, logistic and mlp models are fused';
  if (call.needsTfjs) return 'gradient terms and DP-SGD run on tfjs ops';
  if (call.loss !== 'softmax-cross-entropy' && call.loss !== 'mse') return `loss '${call.loss}' is not fused`;
  const opt = call.optimizer;
  if (opt !== undefined && opt !== 'sgd' && opt.name !== 'sgd') return `optimizer '${opt.name}' is not fused`;
  return null;
}

/** One dense layer's place in wasm memory. */
interface LayerBuffers {
  inputs: number;
  outputs: number;
  kernel: number;
  bias: number;
  /** FedProx anchors and momentum buffers (0 when unused: the kernels never read them then). */
  anchorKernel: number;
  anchorBias: number;
  velocityKernel: number;
  velocityBias: number;
  /** The layer's output activations for one batch, [B, outputs]. */
  activations: number;
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
  const sgd = typeof call.optimizer === 'object' && call.optimizer.name === 'sgd' ? call.optimizer : undefined;
  const momentum = sgd?.momentum ?? 0;
  const rule = momentum > 0 ? (sgd?.nesterov ? UpdateRule.nesterov : UpdateRule.momentum) : UpdateRule.sgd;
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
  for (let w = 0; w < shapes.length; w += 2) {
    const [inputs, outputs] = shapes[w] as [number, number];
    widest = Math.max(widest, outputs);
    const anchors = call.proxMu > 0 ? call.globalWeights ?? weights : undefined;
    layers.push({
      inputs,
      outputs,
      kernel: arena.put(weights[w]),
      bias: arena.put(weights[w + 1]),
      anchorKernel: anchors ? arena.put(anchors[w]) : 0,
      anchorBias: anchors ? arena.put(anchors[w + 1]) : 0,
      velocityKernel: rule !== UpdateRule.sgd ? arena.put(new Float32Array(inputs * outputs)) : 0,
      velocityBias: rule !== UpdateRule.sgd ? arena.put(new Float32Array(outputs)) : 0,
      activations: arena.alloc(B * outputs),
    });
  }
  // Two gradient buffers, used in turn from the top layer down.
  const gradients = [arena.alloc(B * widest), arena.alloc(B * widest)];

  kernels.setUpdate(rule, call.lr, momentum, call.proxMu);
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
        kernels.denseUpdate(inputs, gradients[g], layer.kernel, layer.bias, rows, layer.inputs, layer.outputs, layer.anchorKernel, layer.anchorBias, layer.velocityKernel, layer.velocityBias);
      }
      lossSum += Math.fround(batchLoss) * rows;
      seen += rows;
      steps++;
    }
  }
  model.setWeights(layers.flatMap((layer) => [arena.f32(layer.kernel, layer.inputs * layer.outputs).slice(), arena.f32(layer.bias, layer.outputs).slice()]));
  return { lossSum, seen, steps };
}
