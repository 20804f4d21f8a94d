/**
 * Adaptive clipping (Andrew, Thakkar, McMahan, Ramaswamy 2021, "Differentially Private
 * Learning with Adaptive Clipping"): C follows the γ-quantile of the clients' update norms,
 * estimated privately.
 *
 * Each client reports the bit b_k = [‖Δ_k‖ ≤ C] through the same sum as its update. The
 * server centres the bits (b − ½, so one client moves the sum by at most ½), adds
 * N(0, σ_b²), divides by the round's denominator and moves C geometrically:
 *
 *   b̄ = clamp((Σ_k (b_k − ½) + N(0, σ_b²)) / D + ½, 0, 1)
 *   C ← C · exp(−η (b̄ − γ))
 *
 * (TF Privacy's QuantileEstimatorQuery with geometric updates.) Too many updates within C
 * (b̄ > γ) shrink it, too few grow it. The count's cost is accounted with the update's:
 * see updateNoiseMultiplier (settings.ts).
 */
import type { RandomStream } from '../../runtime/rng.js';

export interface ClipStep {
  /** b̄: the noised fraction of updates within C (clamped to [0, 1]). */
  unclippedFraction: number;
  /** The next round's C. */
  clip: number;
}

export interface ClipEstimate {
  clip: number;
  targetQuantile: number;
  learningRate: number;
  /** σ_b, the std of the noise on the centred count. */
  countStddev: number;
}

/**
 * The next C from `unclipped` (Σ_k b_k, the count of contributors whose update was within
 * C) of `contributors`, with the round's denominator D > 0 (q·N under Poisson sampling,
 * the contributors under fixed-size sampling). Draws one normal from `rng`.
 */
export function nextClip(estimate: ClipEstimate, unclipped: number, contributors: number, denominator: number, rng: RandomStream): ClipStep {
  const centred = unclipped - contributors / 2 + rng.normal(0, estimate.countStddev);
  const fraction = Math.min(1, Math.max(0, centred / denominator + 0.5));
  return { unclippedFraction: fraction, clip: estimate.clip * Math.exp(-estimate.learningRate * (fraction - estimate.targetQuantile)) };
}
