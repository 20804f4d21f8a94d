/**
 * The `dpSgd` training setting: sample-level DP-SGD in each client's local training
 * (Abadi et al. 2016), as an experiment file or runFederated writes it:
 *
 *   dpSgd:
 *     clip: 1.0            # C: each example's whole gradient (all trainable weights) is clipped to L2 norm C
 *     noiseMultiplier: 1.1 # σ: the sum of a step's clipped gradients gets N(0, (σ·C)²) per coordinate
 *     delta: 1e-5          # δ of each client's ε (default 1e-5; keep it below 1 / the client's examples)
 *
 * With it, each step samples its batch by Poisson sampling (every example independently with
 * q = min(1, batchSize / n_k), n_k the client's examples), and the optimizer gets
 * (Σ clipped + noise) / (q·n_k), the expected batch size. The dataset size n_k is treated as
 * public, as in Abadi et al., Opacus and TF Privacy (it sets q and the step count).
 *
 * σ = 0 is allowed — clipping without noise, to measure what clipping alone costs — and is
 * accounted as ε = ∞ (no privacy). The schema checks each value alone; the rules that need
 * the rest of the run (the plan trainer cannot run DP-SGD; dropLast means nothing under Poisson
 * sampling; the model's layers) are in dpSgdTrainingProblems.
 */
import { z } from 'zod';
import type { ModelSpec } from '../../models/spec.js';
import { dpSgdLayersProblem } from './supported-models.js';

export const DEFAULT_DP_SGD_DELTA = 1e-5;

export const DpSgdConfigSchema = z
  .object({
    /** C: the L2 bound of each example's gradient over all trainable weights. */
    clip: z.number().positive({ message: 'expected the clip norm C, a finite number > 0 (e.g. 1.0)' }),
    /** σ: the noise on a step's sum of clipped gradients has std σ·C per coordinate (0 = clipping only, ε = ∞). */
    noiseMultiplier: z.number().min(0, { message: 'expected the noise multiplier σ, a finite number ≥ 0 (e.g. 1.1; 0 clips without noise, no privacy)' }),
    /** δ of each client's ε (default 1e-5). */
    delta: z.number().gt(0, { message: 'expected δ in (0, 1), e.g. 1e-5 (well below 1 / the examples of a client)' }).lt(1, { message: 'expected δ in (0, 1), e.g. 1e-5 (well below 1 / the examples of a client)' }).optional(),
  })
  .strict();
export type DpSgdConfig = z.infer<typeof DpSgdConfigSchema>;

/** What trainLocal needs to know about DP-SGD's settings besides dpSgd itself. */
export interface DpSgdTrainingSettings {
  dpSgd?: DpSgdConfig;
  dropLast?: boolean;
  localTrainer?: 'direct' | 'plan';
}

/** A training setting that cannot work with dpSgd: the field, what it should be, what it is. */
export interface DpSgdProblem {
  path: (string | number)[];
  expected: string;
  found: string;
}

/** Why these settings cannot run DP-SGD (empty when they can, or when dpSgd is off). */
export function dpSgdTrainingProblems(settings: DpSgdTrainingSettings, spec: ModelSpec): DpSgdProblem[] {
  if (!settings.dpSgd) return [];
  const problems: DpSgdProblem[] = [];
  if (settings.localTrainer === 'plan') {
    problems.push({ path: ['localTrainer'], expected: "'direct' with dpSgd: a training Plan computes the batch's mean gradient, not per-example ones, so it cannot clip them", found: "'plan'" });
  }
  if (settings.dropLast) {
    problems.push({ path: ['dropLast'], expected: 'false or absent with dpSgd: DP-SGD samples each batch by Poisson sampling, so there is no last, smaller batch to drop', found: 'true' });
  }
  const layers = spec.kind === 'layers' ? dpSgdLayersProblem(spec) : undefined;
  if (layers) problems.push({ path: ['model', ...layers.path], expected: layers.expected, found: layers.found });
  return problems;
}
