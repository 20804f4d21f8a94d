/**
 * Per-example gradients the slow, obvious way: one forward and one backward pass per example,
 * through the model's own `forward`, with tfjs's autodiff of the weights.
 *
 * This is the reference the vectorised computation (per-example-gradients.ts) is tested
 * against, and the baseline the benchmark (bench/dp-sgd.ts) measures its gain against. It
 * works for any model tfjs can differentiate, so it also says what the vectorised code must
 * reproduce for layers it does not support; DP-SGD training never falls back to it (an
 * unsupported layer is refused instead: a silent 10-100× slowdown is not a choice to make
 * for the user).
 */
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../../models/model.js';
import type { LossFn } from '../losses.js';
import { checkClip } from './per-example-gradients.js';

/** ∇ℓ_i for each example, one [B, ...shape] tensor per trainable variable. Run it inside tf.tidy. */
export function perExampleGradientsByLoop(model: Model, x: tf.Tensor2D, y: tf.Tensor2D, lossFn: LossFn): tf.Tensor[] {
  const batch = x.shape[0];
  const rows: tf.Tensor[][] = model.trainable.map(() => []);
  for (let i = 0; i < batch; i++) {
    const grads = exampleGradients(model, x, y, lossFn, i);
    grads.forEach((g, v) => rows[v].push(g));
  }
  return rows.map((r) => tf.stack(r));
}

/** Σ_i clip_C(∇ℓ_i) and the norms ‖∇ℓ_i‖, one example at a time (in the order of model.trainable). Run it inside tf.tidy. */
export function clippedGradientSumByLoop(model: Model, x: tf.Tensor2D, y: tf.Tensor2D, lossFn: LossFn, clip: number): { sums: tf.Tensor[]; norms: tf.Tensor1D } {
  checkClip(clip, 'clippedGradientSumByLoop');
  const batch = x.shape[0];
  let sums = model.trainable.map((v) => tf.zerosLike(v) as tf.Tensor);
  const norms: tf.Scalar[] = [];
  for (let i = 0; i < batch; i++) {
    const grads = exampleGradients(model, x, y, lossFn, i);
    const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    const scale = tf.div(clip, tf.maximum(norm, clip));
    sums = sums.map((s, v) => tf.add(s, tf.mul(grads[v], scale)));
    norms.push(norm);
  }
  return { sums, norms: tf.stack(norms) as tf.Tensor1D };
}

function exampleGradients(model: Model, x: tf.Tensor2D, y: tf.Tensor2D, lossFn: LossFn, i: number): tf.Tensor[] {
  const xi = tf.slice(x, [i, 0], [1, -1]);
  const yi = tf.slice(y, [i, 0], [1, -1]);
  const { grads } = tf.variableGrads(() => lossFn(yi, model.forward(xi, { training: true })), model.trainable as tf.Variable[]);
  return model.trainable.map((v) => grads[v.name]);
}
