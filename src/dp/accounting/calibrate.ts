/**
 * The smallest noise multiplier that keeps `steps` Poisson-sampled Gaussian steps within a
 * target ε at δ — the inverse of the accountant, as TF Privacy's compute_noise_from_budget
 * and dp_accounting's mechanism_calibration do.
 *
 * ε(σ) is non-increasing in σ: a Gaussian mechanism with more noise is a post-processing of
 * one with less (add independent noise of variance σ₂² − σ₁²), and post-processing never
 * increases a Rényi divergence, at any order, so neither the curve nor the minimum over
 * orders can rise. So a bisection on σ finds the boundary: it keeps an interval [lo, hi]
 * with ε(lo) > target ≥ ε(hi) and halves it (geometrically: σ spans orders of magnitude)
 * until hi/lo − 1 ≤ tolerance, then returns hi — a σ that does meet the target, at most a
 * factor (1 + tolerance) above the smallest one that does (up to the floating-point noise
 * in ε, about 1e-12 relative).
 *
 * The PLD accountant takes tenths of a second per ε, so its search starts from the RDP
 * answer (a few milliseconds per ε; the PLD's σ is usually a little below it) and walks from
 * there by factors of 1.25 instead of 2; its default tolerance is 1e-4, about the relative
 * effect of its discretisation.
 */
import { DpConfigError } from '../errors.js';
import { type AccountantKind, PrivacyAccountant } from './accountant.js';
import { checkDelta, checkEpsilon, checkSamplingRate } from './parameter-checks.js';

export interface NoiseCalibrationTarget {
  /** The ε not to exceed, > 0. */
  epsilon: number;
  delta: number;
  /** Poisson sampling rate q ∈ (0, 1] of each step. */
  samplingRate: number;
  /** Number of steps (an integer ≥ 1). */
  steps: number;
  accountant?: AccountantKind;
  orders?: readonly number[];
  /** PLD only: the grid step of privacy losses (see PrivacyAccountantOptions). */
  discretization?: number;
  /** Relative width of the final interval, in (0, 0.1]; default 1e-6 (RDP), 1e-4 (PLD). */
  tolerance?: number;
}

export interface NoiseCalibration {
  noiseMultiplier: number;
  /** ε at that noise multiplier (≤ the target). */
  epsilon: number;
  order?: number;
  accountant: AccountantKind;
  tolerance: number;
}

/** The search range: outside it the answer is refused rather than extrapolated. */
export const MIN_NOISE_MULTIPLIER = 1e-3;
export const MAX_NOISE_MULTIPLIER = 1e6;

const AT = 'calibrateNoiseMultiplier';

export function calibrateNoiseMultiplier(target: NoiseCalibrationTarget): NoiseCalibration {
  const targetEpsilon = checkEpsilon(target.epsilon, AT, 'epsilon');
  if (targetEpsilon === 0) {
    throw new DpConfigError(`${AT}: epsilon must be > 0, got 0; ε = 0 needs infinite noise (only the trivial bound δ ≥ total variation is met, and only as σ → ∞).`, {
      at: AT,
      field: 'epsilon',
      value: 0,
    });
  }
  const delta = checkDelta(target.delta, AT);
  const samplingRate = checkSamplingRate(target.samplingRate, AT);
  const steps = target.steps;
  if (typeof steps !== 'number' || !Number.isSafeInteger(steps) || steps < 1) {
    throw new DpConfigError(`${AT}: steps must be an integer ≥ 1, got ${String(steps)}.`, { at: AT, field: 'steps', value: steps });
  }
  const kind = target.accountant ?? 'rdp';
  const tolerance = target.tolerance ?? (kind === 'pld' ? 1e-4 : 1e-6);
  if (typeof tolerance !== 'number' || !(tolerance > 0 && tolerance <= 0.1)) {
    throw new DpConfigError(`${AT}: tolerance must be a number in (0, 0.1], got ${String(tolerance)}.`, { at: AT, field: 'tolerance', value: tolerance });
  }
  const options = {
    kind,
    ...(target.orders === undefined ? {} : { orders: target.orders }),
    ...(target.discretization === undefined ? {} : { discretization: target.discretization }),
  };
  // One accountant per σ; its first use checks the options, so a bad kind or order list is refused before the search.
  const spentAt = (sigma: number) =>
    new PrivacyAccountant(options).compose({ kind: 'poisson-sampled-gaussian', samplingRate, noiseMultiplier: sigma }, steps).epsilon(delta);

  // Where to start and how far to step while looking for an interval around the answer.
  let start = 1;
  let factor = 2;
  if (kind === 'pld') {
    const { discretization: _unused, ...rest } = target;
    start = calibrateNoiseMultiplier({ ...rest, accountant: 'rdp', tolerance: 1e-3 }).noiseMultiplier;
    factor = 1.25;
  }
  let lo = start;
  let hi = start;
  let atHi = spentAt(hi);
  if (atHi.epsilon <= targetEpsilon) {
    // Walk down until the target is missed.
    for (;;) {
      lo = hi / factor;
      if (lo < MIN_NOISE_MULTIPLIER) {
        throw new DpConfigError(
          `${AT}: even noise multiplier ${MIN_NOISE_MULTIPLIER} keeps ε ≤ ${targetEpsilon} at δ = ${delta} for ${steps} steps at sampling rate ${samplingRate} ` +
            `(ε = ${spentAt(MIN_NOISE_MULTIPLIER).epsilon}); there is no meaningful smallest σ — the target is too loose for these parameters.`,
          { at: AT, field: 'epsilon', value: targetEpsilon },
        );
      }
      if (spentAt(lo).epsilon > targetEpsilon) break;
      hi = lo;
    }
    atHi = spentAt(hi);
  } else {
    // Walk up until the target is met.
    for (;;) {
      lo = hi;
      hi = lo * factor;
      if (hi > MAX_NOISE_MULTIPLIER) {
        throw new DpConfigError(
          `${AT}: no noise multiplier up to ${MAX_NOISE_MULTIPLIER} keeps ε ≤ ${targetEpsilon} at δ = ${delta} for ${steps} steps at sampling rate ${samplingRate}; ` +
            'raise epsilon or delta, or take fewer steps or a smaller sampling rate.',
          { at: AT, field: 'epsilon', value: targetEpsilon },
        );
      }
      atHi = spentAt(hi);
      if (atHi.epsilon <= targetEpsilon) break;
    }
  }
  // Invariant: ε(lo) > target ≥ ε(hi).
  while (hi / lo - 1 > tolerance) {
    const mid = Math.sqrt(lo * hi);
    const atMid = spentAt(mid);
    if (atMid.epsilon <= targetEpsilon) {
      hi = mid;
      atHi = atMid;
    } else {
      lo = mid;
    }
  }
  return { noiseMultiplier: hi, epsilon: atHi.epsilon, ...(atHi.order === undefined ? {} : { order: atHi.order }), accountant: atHi.accountant, tolerance };
}
