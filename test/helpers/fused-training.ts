/**
 * Shared by the fused trainer's tests: train a case with the fused kernels on or off, and
 * compare a fused run with the tfjs loop's to float32 rounding.
 */
import { createStream } from '../../src/runtime/rng.js';
import { createModel } from '../../src/fl/models/create.js';
import type { ModelSpec } from '../../src/fl/models/spec.js';
import { trainLocal, type TrainOptions, type TrainResult } from '../../src/fl/training/train-local.js';
import type { Dataset } from '../../src/fl/training/dataset.js';

/** Runs `fn` with the fused kernels switched on or off (FEDSIM_FUSED_DENSE), restoring the setting after. */
export function withFused<T>(on: boolean, fn: () => T): T {
  const before = process.env.FEDSIM_FUSED_DENSE;
  process.env.FEDSIM_FUSED_DENSE = on ? '1' : '0';
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.FEDSIM_FUSED_DENSE;
    else process.env.FEDSIM_FUSED_DENSE = before;
  }
}

export interface Case {
  spec: ModelSpec;
  data: Dataset;
  options: TrainOptions;
  seed: number;
}

/** Trains a fresh model of `c.spec` (seeded initial weights) with the fused kernels on or off. */
export function train(c: Case, fused: boolean): TrainResult {
  return withFused(fused, () => {
    const model = createModel(c.spec, createStream(c.seed, 'init'));
    try {
      return trainLocal(model, c.data, c.options, createStream(c.seed, 'shuffle'));
    } finally {
      model.dispose();
    }
  });
}

/**
 * Throws unless `fused` trained what `reference` (the tfjs loop) trained: the same steps and
 * samples, the mean loss and every weight within float32 rounding (relative to max(1, |value|)).
 */
export function assertSameTraining(c: Case, fused: TrainResult, reference: TrainResult): void {
  if (fused.steps !== reference.steps || fused.samplesSeen !== reference.samplesSeen || fused.numSamples !== reference.numSamples) {
    throw new Error(`steps/samples ${fused.steps}/${fused.samplesSeen}/${fused.numSamples} vs tfjs ${reference.steps}/${reference.samplesSeen}/${reference.numSamples}`);
  }
  // Adam divides by √v: where a gradient is near 0, rounding-level differences in it move a weight by up to ~η·1e-4.
  const tol = typeof c.options.optimizer === 'object' && c.options.optimizer.name === 'adam' ? 2e-4 : 1e-5;
  const lossTol = tol * Math.max(1, Math.abs(reference.meanLoss));
  if (Math.abs(fused.meanLoss - reference.meanLoss) > lossTol) throw new Error(`mean loss ${fused.meanLoss} vs tfjs ${reference.meanLoss}`);
  fused.weights.forEach((w, i) =>
    w.forEach((v, j) => {
      const r = reference.weights[i][j];
      if (!(Math.abs(v - r) <= tol * Math.max(1, Math.abs(r)))) throw new Error(`weight ${i}[${j}]: ${v} vs tfjs ${r} (${JSON.stringify(c.spec)}, ${JSON.stringify(c.options)})`);
    }),
  );
}
