/**
 * One DP-SGD step's gradient (Abadi et al. 2016, Algorithm 1):
 *
 *   g̃ = (Σ_{i ∈ batch} clip_C(∇ℓ_i) + N(0, σ²C² I)) / E
 *
 * with clip_C(g) = g · min(1, C/‖g‖) over the whole gradient (all trainable weights), and E
 * the EXPECTED batch size q·n, fixed, not the batch's actual size: under Poisson sampling the
 * size itself depends on who is in the batch, so dividing by it would add sensitivity the
 * accountant does not count (Opacus and TF Privacy divide by the expected size too).
 *
 * An empty batch (Poisson sampling drew nobody; probability (1 − q)^n ≈ e^(−E)) is a step
 * like any other: the sum is zero and the gradient is pure noise. Skipping it would make
 * whether a step happens depend on the data, which the accounting of T identical steps does
 * not allow for.
 *
 * The noise is drawn in the order of the trainable variables, each row-major, from the
 * step's GaussianNoise generator; σ = 0 draws nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { DpConfigError } from '../../../dp/errors.js';
import type { LossFn } from '../losses.js';
import type { GaussianNoise } from './gaussian-noise.js';
import type { LayerProgram } from './layer-program.js';
import { checkClip, clippedGradientSum } from './per-example-gradients.js';

export interface PrivateGradientSettings {
  /** C. */
  clip: number;
  /** σ ≥ 0. */
  noiseMultiplier: number;
  /** E = q·n, the expected batch size (> 0). */
  expectedBatchSize: number;
}

export interface PrivateGradient {
  /** g̃ for each trainable variable, in the order of `trainable`. */
  grads: tf.Tensor[];
  /** Σ_i ℓ_i over the batch (0 for an empty batch): the caller's statistics, not part of the private release. */
  lossSum: tf.Scalar;
}

/** Checks the settings once (a DpConfigError names the bad one). */
export function checkPrivateGradientSettings(settings: PrivateGradientSettings, at: string): PrivateGradientSettings {
  checkClip(settings.clip, at);
  const { noiseMultiplier: sigma, expectedBatchSize: e } = settings;
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0) {
    throw new DpConfigError(`${at}: noiseMultiplier must be a finite number ≥ 0 (the noise std over the clip norm, e.g. 1.1; 0 adds none), got ${String(sigma)}.`, { at, field: 'noiseMultiplier', value: sigma });
  }
  if (typeof e !== 'number' || !Number.isFinite(e) || e <= 0) {
    throw new DpConfigError(`${at}: expectedBatchSize must be a finite number > 0 (q·n, the batch size Poisson sampling gives on average), got ${String(e)}.`, { at, field: 'expectedBatchSize', value: e });
  }
  return settings;
}

/**
 * g̃ for the batch (x, y), or for an empty batch when `batch` is undefined. Run it inside
 * tf.tidy; the caller owns the results.
 */
export function privateGradient(
  program: LayerProgram,
  trainable: readonly tf.Variable[],
  batch: { x: tf.Tensor2D; y: tf.Tensor2D } | undefined,
  lossFn: LossFn,
  settings: PrivateGradientSettings,
  noise: GaussianNoise,
): PrivateGradient {
  const { clip, noiseMultiplier, expectedBatchSize } = checkPrivateGradientSettings(settings, 'privateGradient');
  const clipped = batch && batch.x.shape[0] > 0 ? clippedGradientSum(program, trainable, batch.x, batch.y, lossFn, clip) : undefined;
  const sums = clipped ? clipped.sums : trainable.map((v) => tf.zerosLike(v) as tf.Tensor);
  const std = noiseMultiplier * clip;
  const grads = sums.map((sum, i) => {
    const noised = std > 0 ? tf.add(sum, tf.tensor(noise.fill(new Float32Array(sum.size), std), sum.shape, 'float32')) : sum;
    return tf.div(noised, expectedBatchSize);
  });
  return { grads, lossSum: clipped ? clipped.lossSum : tf.scalar(0) };
}
