/**
 * The local-training loop under DP-SGD (trainLocal's `dpSgd` setting): E epochs of
 * ⌈n/B⌉ steps each; every step samples its batch by Poisson sampling with q = min(1, B/n)
 * (poisson-batches.ts), computes the private gradient (private-gradient.ts) and hands it to
 * the optimizer — plain SGD, or momentum / Adam, which only post-process private gradients.
 * Gradient terms (FedProx's proximal pull, SCAFFOLD's correction) are added after the noise:
 * they depend on the weights, not on the data, so they are post-processing too.
 *
 * What the accountant is told (DpSgdSpend): T = E·⌈n/B⌉ steps of the Poisson-sampled
 * Gaussian with rate q and noise multiplier σ — exactly what ran.
 *
 * Randomness: the noise generator is seeded with the first four draws of the round's stream
 * (gaussian-noise.ts), then every step's batch is drawn from the same stream; the same seed
 * gives the same batches, the same noise and bit-identical weights.
 */
import * as tf from '@tensorflow/tfjs';
import type { RandomStream } from '../../../runtime/rng.js';
import type { Model } from '../../models/model.js';
import type { BatchMaker } from '../batch-maker.js';
import type { LossFn } from '../losses.js';
import type { Optimizer } from '../optimizers.js';
import { DEFAULT_DP_SGD_DELTA, type DpSgdConfig } from './config.js';
import { GaussianNoise } from './gaussian-noise.js';
import { layerProgram } from './layer-program.js';
import { poissonBatch } from './poisson-batches.js';
import { privateGradient } from './private-gradient.js';

/** What one DP-SGD training spent: T steps of the Poisson-sampled Gaussian (the accountant's event, `steps` times). */
export interface DpSgdSpend {
  samplingRate: number;
  noiseMultiplier: number;
  steps: number;
  clip: number;
  /** δ the client's ε is stated at. */
  delta: number;
  /** n, the examples sampled from. */
  examples: number;
}

export interface DpSgdLoop {
  model: Model;
  n: number;
  epochs: number;
  batchSize: number;
  dpSgd: DpSgdConfig;
  batches: BatchMaker;
  lossFn: LossFn;
  optimizer: Optimizer;
  /** Adds the run's gradient terms to a step's gradients (inside the step's tidy). */
  addTerms: (grads: tf.Tensor[]) => tf.Tensor[];
  rng: RandomStream;
}

/** The sampling rate, steps and expected batch size DP-SGD uses for n examples at batch size B over E epochs. */
export function dpSgdSchedule(n: number, batchSize: number, epochs: number): { samplingRate: number; steps: number; expectedBatchSize: number } {
  const samplingRate = Math.min(1, batchSize / n);
  return { samplingRate, steps: epochs * Math.ceil(n / batchSize), expectedBatchSize: samplingRate * n };
}

/** Runs the loop; returns the loss sum, the examples seen, the steps and what they spent. */
export function trainDpSgd(loop: DpSgdLoop): { lossSum: number; seen: number; steps: number; spend: DpSgdSpend } {
  const { model, n, dpSgd, batches, lossFn, optimizer, rng } = loop;
  const program = layerProgram(model);
  const { samplingRate, steps, expectedBatchSize } = dpSgdSchedule(n, loop.batchSize, loop.epochs);
  const settings = { clip: dpSgd.clip, noiseMultiplier: dpSgd.noiseMultiplier, expectedBatchSize };
  const noise = GaussianNoise.from(rng);
  const params = model.trainable as tf.Variable[];
  let lossSum = 0;
  let seen = 0;
  for (let step = 0; step < steps; step++) {
    const indices = poissonBatch(n, samplingRate, rng);
    const value = tf.tidy(() => {
      const batch = indices.length > 0 ? batches.make(indices, 0, indices.length) : undefined;
      const gradient = privateGradient(program, params, batch && { x: batch[0], y: batch[1] }, lossFn, settings, noise);
      optimizer.step(params, loop.addTerms(gradient.grads));
      return gradient.lossSum;
    });
    lossSum += value.dataSync()[0];
    value.dispose();
    seen += indices.length;
  }
  const spend: DpSgdSpend = { samplingRate, noiseMultiplier: dpSgd.noiseMultiplier, steps, clip: dpSgd.clip, delta: dpSgd.delta ?? DEFAULT_DP_SGD_DELTA, examples: n };
  return { lossSum, seen, steps, spend };
}
