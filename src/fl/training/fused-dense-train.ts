/**
 * Local training of the built-in models (`linear`, `logistic`, `mlp`, `cnn`) in fedsim's fused
 * WebAssembly kernels (assembly/fused-dense.ts, fused-conv.ts) instead of tfjs ops: the same
 * minibatch SGD as trainLocal's tfjs loop — same shuffles from the same stream, same batches,
 * same loss, same update rule — at a fraction of the cost, because a step is ~10 kernel calls
 * (~25 for the cnn) on weights that stay in wasm memory instead of ~60 tfjs ops. The layers are
 * fused-dense-layers.ts (the dense stack; the cnn's head) and fused-conv-layers.ts (the cnn's
 * convolutions and pools); fused-parameters.ts places their weights and optimiser state.
 *
 * The numbers agree with the tfjs path to float32 rounding, not bit for bit (the sums run in
 * another order); a run is bit-identical to itself on any machine, and its log header names the
 * kernels (`fused-dense-vN`, `fused-cnn-vN`), so a replay under another kernel set is told apart.
 *
 * Used on the wasm backend (the default), for every optimiser (SGD, momentum, Nesterov, Adam),
 * with FedProx's μ and the affine gradient terms of FedProx, SCAFFOLD and FedDyn
 * (affine-terms.ts). Anything else — an algorithm's other gradient terms, DP-SGD, a layers
 * model, the cpu backend (kept as the plain reference), FEDSIM_FUSED_DENSE=0, or for the cnn
 * FEDSIM_FUSED_CNN=0 — takes the tfjs path; `fusedDenseRefusal` says why.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedCnnEnabled, fusedDenseEnabled, fusedDenseKernels, UpdateRule, WasmArena } from '../../runtime/fused-dense/module.js';
import type { RandomStream } from '../../runtime/rng.js';
import { BuiltinModel } from '../models/builtin-model.js';
import type { Model } from '../models/model.js';
import type { LossName } from '../models/spec.js';
import type { Dataset } from './dataset.js';
import type { OptimizerConfig } from './optimizers.js';
import type { AffineGradientTerm } from './affine-terms.js';
import { FusedConvLayers } from './fused-conv-layers.js';
import { FusedDenseLayers } from './fused-dense-layers.js';
import { parameterPlacer, updateSettingsOf } from './fused-parameters.js';
import { forEachMinibatch } from './minibatches.js';

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
  if (!(model instanceof BuiltinModel)) return 'only the built-in models (linear, logistic, mlp, cnn) are fused, not layers models';
  if (model.spec.kind === 'cnn' && !fusedCnnEnabled(tf.getBackend())) return 'the cnn trains on tfjs ops when FEDSIM_FUSED_CNN=0 (as runs recorded before the fused cnn, fused-dense-v1 alone, replay)';
  if (call.needsTfjs) return 'gradient terms and DP-SGD run on tfjs ops';
  if (call.loss !== 'softmax-cross-entropy' && call.loss !== 'mse') return `loss '${call.loss}' is not fused`;
  return null;
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
  const builtin = model as BuiltinModel;
  const kernels = fusedDenseKernels();
  const arena = new WasmArena(kernels);
  const B = Math.min(call.batchSize, n);
  const update = updateSettingsOf(call.optimizer);
  const term = call.affineTerm;
  const inputSize = builtin.inputSize;
  const outputSize = builtin.outputSize;
  const mse = call.loss === 'mse';

  // Buffers are placed with fresh views only: growing the memory detaches old views.
  const x = arena.put(data.x.subarray(0, n * inputSize));
  const targets = mse ? arena.put((data.y as Float32Array).subarray(0, n * outputSize)) : arena.put((data.y as Int32Array).subarray(0, n));
  const order = arena.alloc(n);
  const batchInputs = arena.alloc(B * inputSize);
  const batchTargets = arena.alloc(B * (mse ? outputSize : 1));
  const place = parameterPlacer(arena, model.getWeights(), update, call.proxMu, call.globalWeights, term);
  // The cnn's first four weight tensors are its convolutions; its dense head follows them.
  const convolutions = builtin.spec.kind === 'cnn' ? new FusedConvLayers(kernels, arena, builtin.spec, place, B) : undefined;
  const firstDense = convolutions ? 4 : 0;
  const dense = new FusedDenseLayers(kernels, arena, model.paramShapes.slice(firstDense), firstDense, place, B);

  kernels.setUpdate(update.rule, call.lr, update.momentum, update.beta2, update.epsilon, call.proxMu, term?.pull?.coefficient ?? 0, term?.offset !== undefined);
  let lossSum = 0;
  let seen = 0;
  let steps = 0;
  forEachMinibatch(n, call, rng, {
    epoch: (indexes) => arena.i32(order, n).set(indexes),
    batch: (_, start, end) => {
      const rows = end - start;
      if (update.rule === UpdateRule.adam) {
        // As optimizers.ts: bias corrections in float64, used as float32 scalars.
        kernels.setAdamStep(1 - Math.pow(update.momentum, steps + 1), 1 - Math.pow(update.beta2, steps + 1));
      }
      kernels.gatherRows(x, order, start, rows, inputSize, batchInputs);
      if (mse) kernels.gatherRows(targets, order, start, rows, outputSize, batchTargets);
      else kernels.gatherLabels(targets, order, start, rows, batchTargets);
      const features = convolutions ? convolutions.forward(batchInputs, rows) : batchInputs;
      const outputs = dense.forward(features, rows);
      const batchLoss = mse
        ? kernels.meanSquaredError(outputs, batchTargets, dense.outputGradient, rows, outputSize) / (rows * outputSize)
        : kernels.softmaxCrossEntropy(outputs, batchTargets, dense.outputGradient, rows, outputSize) / rows;
      dense.backward(features, rows, convolutions?.outputGradient);
      convolutions?.backward(rows);
      lossSum += Math.fround(batchLoss) * rows;
      seen += rows;
      steps++;
    },
  });
  model.setWeights([...(convolutions?.weights(arena) ?? []), ...dense.weights(arena)]);
  return { lossSum, seen, steps };
}
