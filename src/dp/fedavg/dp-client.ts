/**
 * The client half of DP-FedAvg: a ClientAlgorithm around the run's own (plain local SGD,
 * FedProx's proximal step, …) that turns what training did into a report with bounded
 * sensitivity:
 *
 *   Δ = w_trained − w_global over all layers, clipped to L2 norm C (the round's C, from
 *   FitIns.config.dp.clip), in float64 (src/dp/clipping.ts);
 *   local mode: + N(0, (z·C)²) per coordinate, from the client's own stream
 *   `actor/<id>/dp/round-<r>` (the same noise when the round is redone after a crash);
 *   the report: weights w_global + Δ̃, weighted uniformly (one client, one vote: the sum's
 *   sensitivity is C whatever n_k), with n_k and the loss withheld (reported as 0) — they
 *   are statistics of the client's data that no noise covers;
 *   adaptive clipping: the bit [‖Δ‖ ≤ C] as the metric `dpUnclipped`, through the same sum.
 *
 * The noise multiplier of local mode is the client's own setting (a client that does not
 * trust the server does not take its noise level from it); only C comes from the server,
 * and local DP's ε does not depend on C (the noise scales with it).
 */
import { z } from 'zod';
import type { ClientAlgorithm, LocalTraining } from '../../fl/algorithms/client-algorithm.js';
import { MalformedMessageError } from '../../fl/errors.js';
import type { FitIns } from '../../fl/rounds/fit.js';
import { addToWeights, clipUpdate, reportClipped } from '../clipping.js';
import { withGaussianNoise } from '../noise.js';
import type { DpMode } from './settings.js';

/** The metric adaptive clipping's bit travels in. */
export const UNCLIPPED_METRIC = 'dpUnclipped';

/** The FitIns.config field the server sets for DP clients. */
export const DP_FIT_FIELD = 'dp';
export const DpFitConfigSchema = z.object({ clip: z.number().positive().finite() }).strict();
export type DpFitConfig = z.infer<typeof DpFitConfigSchema>;

/** The stream (under `actor/<id>/`) a client's local-DP noise of round r comes from. */
export const dpNoiseStreamName = (round: number) => `dp/round-${round}`;

export interface DpClientOptions {
  mode: DpMode;
  noiseMultiplier: number;
  /** Report the bit [‖Δ‖ ≤ C] for adaptive clipping. */
  reportUnclipped: boolean;
}

/** The round's C, from the fit (a malformed one is the server's message to refuse). */
export function fitClip(ins: Pick<FitIns, 'round' | 'config'>, who: string): number {
  const parsed = DpFitConfigSchema.safeParse(ins.config[DP_FIT_FIELD]);
  if (!parsed.success) {
    throw new MalformedMessageError(
      `${who} round ${ins.round}: FitIns.config.${DP_FIT_FIELD} must be { clip: a finite number > 0 }, got ${JSON.stringify(ins.config[DP_FIT_FIELD])}; the server's DP strategy sets it`,
      { round: ins.round, field: `config.${DP_FIT_FIELD}` },
    );
  }
  return parsed.data.clip;
}

export function dpClientAlgorithm<S>(inner: ClientAlgorithm<S>, options: DpClientOptions): ClientAlgorithm<S> {
  const name = `dp-${inner.name}`;
  const algorithm: ClientAlgorithm<S> = {
    name,
    reports: { extras: [], metrics: options.reportUnclipped ? [UNCLIPPED_METRIC] : [], weighting: 'uniform', trainingStats: 'withheld' },
    usesGradientTerms: inner.usesGradientTerms,
    afterTraining(ins: FitIns, trained: LocalTraining, state: S) {
      const clip = fitClip(ins, name);
      const after = inner.afterTraining?.(ins, trained, state) ?? {};
      const update = clipUpdate(ins.weights, after.weights ?? trained.weights, clip);
      // Local noise goes on before the float32 rounding, which is then mere post-processing; without noise the
      // rounding itself must keep the carried update within C (reportClipped).
      const weights =
        options.mode === 'local'
          ? addToWeights(ins.weights, withGaussianNoise(update.delta, options.noiseMultiplier * clip, trained.stream(dpNoiseStreamName(ins.round))))
          : reportClipped(ins.weights, update.delta, clip);
      return {
        weights,
        ...(options.reportUnclipped ? { metrics: { [UNCLIPPED_METRIC]: update.norm <= clip ? 1 : 0 } } : {}),
        ...(after.state !== undefined ? { state: after.state } : {}),
      };
    },
  };
  if (inner.checkTraining) algorithm.checkTraining = (config) => inner.checkTraining!(config);
  if (inner.initialState) algorithm.initialState = (weights) => inner.initialState!(weights);
  // The inner algorithm's own function (none uses `this`): a worker thread finds the hooks to rebuild by it (src/fl/parallel/worker-algorithms.ts).
  if (inner.beforeTraining) algorithm.beforeTraining = inner.beforeTraining;
  return algorithm;
}
