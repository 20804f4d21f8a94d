/**
 * Losses, each the mean over the batch of a per-sample loss.
 *
 * Softmax cross-entropy has a hand-written gradient, (softmax(z) − y)/n: it is the
 * loss of nearly every FL experiment, and with small batches a training step's
 * time is mostly per-op overhead, so the few ops of a custom gradient beat the
 * dozen autodiff would record through log-softmax (−20% per step on wasm). The
 * gradient is exact; the reported value is −mean log p_label with p clipped at
 * 1e-30 (a per-sample loss of at most 69), which only matters once float32
 * softmax has underflowed anyway. The tests check both against tfjs's own loss.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossName } from '../models/spec.js';

export type LossFn = (targets: tf.Tensor2D, outputs: tf.Tensor2D) => tf.Scalar;

/** mean_i −Σ_c y_ic · log softmax(z_i)_c, for logits z and one-hot targets y. */
export const softmaxCrossEntropy: LossFn = (targets, logits) => sceWithGrad(logits, targets);

const sceWithGrad = tf.customGrad(((logits: tf.Tensor, targets: tf.Tensor, save: tf.GradSaveFunc) => {
  const n = logits.shape[0] ?? 1;
  const p = tf.softmax(logits);
  save([p, targets]);
  const pLabel = tf.sum(tf.mul(targets, p), 1);
  const value = tf.div(tf.neg(tf.sum(tf.log(tf.maximum(pLabel, 1e-30)))), n) as tf.Scalar;
  const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => {
    const [savedP, savedTargets] = saved;
    return [tf.mul(tf.sub(savedP, savedTargets), tf.div(dy, n)), tf.zerosLike(savedTargets)];
  };
  return { value, gradFunc };
}) as unknown as Parameters<typeof tf.customGrad<tf.Scalar>>[0]) as (logits: tf.Tensor2D, targets: tf.Tensor2D) => tf.Scalar;

/** Cross-entropy of probabilities (a model ending in softmax): mean_i −Σ_c y_ic · log p_ic, p clipped to [1e-7, 1 − 1e-7] as Keras does. */
export const crossEntropy: LossFn = (targets, probabilities) =>
  tf.tidy(() => tf.div(tf.neg(tf.sum(tf.mul(targets, tf.log(tf.clipByValue(probabilities, 1e-7, 1 - 1e-7))))), probabilities.shape[0]) as tf.Scalar);

/** Mean squared error over all elements (PyTorch's MSELoss with reduction 'mean'). */
export const meanSquaredError: LossFn = (targets, outputs) => tf.tidy(() => tf.mean(tf.squaredDifference(outputs, targets)) as tf.Scalar);

export function lossFunction(name: LossName): LossFn {
  switch (name) {
    case 'softmax-cross-entropy':
      return softmaxCrossEntropy;
    case 'cross-entropy':
      return crossEntropy;
    case 'mse':
      return meanSquaredError;
  }
}
