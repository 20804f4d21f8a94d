/**
 * The privacy loss distribution (PLD) of one step of the Poisson-sampled Gaussian mechanism,
 * discretised so that it stays a valid upper bound: the "connect the dots" construction of
 * Doroshenko, Ghazi, Kamath, Kumar, Manurangsi 2022 ("Connect the Dots: Tighter Discrete
 * Approximations of Privacy Loss Distributions"), as Google's dp_accounting uses by default.
 *
 * A pair of distributions (P, Q) is described by its hockey-stick curve
 * f(t) = sup_S P(S) − t·Q(S) = E_P[(1 − t·e^{−L})₊] (t = e^ε; δ(ε) = f(e^ε)), where L is the
 * privacy loss log(P/Q). f is convex and non-increasing with f(0) = 1. For add-or-remove
 * neighbours the sampled Gaussian has two pairs (one per direction; both are accounted and
 * the larger δ reported):
 *
 *   remove: P = (1 − q)N(0, σ²) + qN(1, σ²), Q = N(0, σ²);  L(x) = log(1 − q + q·e^{(2x−1)/(2σ²)})
 *   add:    P = N(0, σ²), Q = (1 − q)N(0, σ²) + qN(1, σ²);  L(x) = −log(1 − q + q·e^{(2x−1)/(2σ²)})
 *
 * L is monotone in x, so f(t) has a closed form in Gaussian tails (below).
 *
 * Discretisation: on the grid εᵢ = i·Δ, i = lo … hi, take the exact values fᵢ = f(e^{εᵢ}) and
 * replace f by its chords between consecutive grid points, by the chord from (0, 1) to
 * (t_lo, f_lo) below the grid, and by the constant f_hi above it. Because f is convex and
 * non-increasing, that piecewise-linear curve lies above f everywhere; and it is itself the
 * hockey-stick curve of a discrete pair: atoms at the εᵢ with P-mass pᵢ = tᵢ·(sᵢ − sᵢ₋₁)
 * (sᵢ the chord slopes, non-decreasing by convexity), mass f_hi at loss +∞, and Q's
 * remaining mass at loss −∞. A pair whose curve lies above another's dominates it
 * (Blackwell), and domination survives composition, so ε computed from composed discrete
 * PLDs is a valid upper bound for the real mechanism — up to floating-point rounding.
 *
 * The grid stops where the tails are negligible: above, where f ≤ tailMass (that mass is put
 * at +∞, counted in full); below, where the chord from (0, 1) departs from f by at most
 * tailMass (or exactly at log(1 − q), below which the remove direction's loss never goes).
 */
import { logErfc } from './log-erfc.js';

export type PldDirection = 'remove' | 'add';

/** A discrete privacy loss distribution on the grid k·step: probs[i] is the P-mass at loss (offset + i)·step. */
export interface DiscretePld {
  readonly step: number;
  readonly offset: number;
  readonly probs: Float64Array;
  /** P-mass where Q has none (loss +∞): counted in full in every δ. */
  readonly infinityMass: number;
}

/** Gaussian upper tail P(Z > z) for Z ~ N(0, 1). */
function upperTail(z: number): number {
  return Math.exp(logErfc(z / Math.SQRT2)) / 2;
}

/**
 * e^ε − (1 − q), without losing its digits: expm1 for ε near 0 (where e^ε − 1 is small),
 * exp for ε well below 0 (where expm1(ε) + 1 would keep only the digits of 1 — with q = 1
 * and ε = −37 that is none).
 */
function expMinusComplement(epsilon: number, q: number): number {
  return epsilon < -0.5 ? Math.exp(epsilon) - (1 - q) : Math.expm1(epsilon) + q;
}

/** σ²·log((e^ε − (1 − q))/q) + 1/2: where the mixture's density ratio equals e^ε. */
function crossing(q: number, sigma: number, epsilon: number): number {
  return sigma * sigma * (Math.log(expMinusComplement(epsilon, q)) - Math.log(q)) + 0.5;
}

/** f(e^ε) = δ(ε) of one step, exact (up to rounding), in the given direction. */
export function sampledGaussianHockeyStick(q: number, sigma: number, direction: PldDirection, epsilon: number): number {
  if (direction === 'remove') {
    // L > ε ⇔ x > x_ε; f = P(x > x_ε) − e^ε Q(x > x_ε) = q·S((x−1)/σ) − (e^ε − 1 + q)·S(x/σ).
    if (q < 1 && epsilon <= Math.log1p(-q)) return -Math.expm1(epsilon);
    const x = crossing(q, sigma, epsilon);
    const f = q * upperTail((x - 1) / sigma) - expMinusComplement(epsilon, q) * upperTail(x / sigma);
    return Math.min(1, Math.max(0, f));
  }
  // add: L > ε ⇔ x < x'_ε, x'_ε the crossing at −ε; f = e^ε[(e^{−ε} − 1 + q)Φ(x'/σ) − q·Φ((x'−1)/σ)].
  if (q < 1 && epsilon >= -Math.log1p(-q)) return 0;
  const x = crossing(q, sigma, -epsilon);
  const f = Math.exp(epsilon) * (expMinusComplement(-epsilon, q) * upperTail(-x / sigma) - q * upperTail(-(x - 1) / sigma));
  return Math.min(1, Math.max(0, f));
}

/** e^ε·Q(L ≤ ε): how far the chord from (0, 1) to (e^ε, f(e^ε)) can lie above f below ε (an upper bound on f(t) − (1 − t) there). */
function lowerTailExcess(q: number, sigma: number, direction: PldDirection, epsilon: number): number {
  if (direction === 'remove') {
    if (q < 1 && epsilon <= Math.log1p(-q)) return 0;
    const x = crossing(q, sigma, epsilon); // L ≤ ε ⇔ x ≤ x_ε; Q = N(0, σ²)
    return Math.exp(epsilon) * upperTail(-x / sigma);
  }
  if (q < 1 && epsilon >= -Math.log1p(-q)) return Math.exp(epsilon);
  const x = crossing(q, sigma, -epsilon); // L ≤ ε ⇔ x ≥ x'; Q the mixture
  return Math.exp(epsilon) * ((1 - q) * upperTail(x / sigma) + q * upperTail((x - 1) / sigma));
}

/** Grid points at most, per step: past this the PLD would be slower than it is worth. */
export const MAX_PLD_GRID_POINTS = 4_000_000;

/** The connect-the-dots discretisation of one step (see the file comment). */
export function discretizeSampledGaussian(q: number, sigma: number, direction: PldDirection, step: number, tailMass: number): DiscretePld {
  const f = (i: number) => sampledGaussianHockeyStick(q, sigma, direction, i * step);
  // Top: the first grid point where f ≤ tailMass (the add direction's loss is bounded: f = 0 past −log(1 − q)).
  let hi: number;
  if (direction === 'add' && q < 1) {
    hi = Math.ceil(-Math.log1p(-q) / step);
  } else {
    let upper = 1;
    while (f(upper) > tailMass) upper *= 2;
    let lower = 0;
    while (upper - lower > 1) {
      const mid = Math.floor((lower + upper) / 2);
      if (f(mid) > tailMass) lower = mid;
      else upper = mid;
    }
    hi = upper;
  }
  // Bottom: exactly at log(1 − q) for the remove direction; else where the chord from (0, 1) is within tailMass of f.
  let lo: number;
  if (direction === 'remove' && q < 1) {
    lo = Math.floor(Math.log1p(-q) / step);
  } else {
    let lower = -1;
    while (lowerTailExcess(q, sigma, direction, lower * step) > tailMass) lower *= 2;
    let upper = Math.min(0, hi) + 1;
    while (upper - lower > 1) {
      const mid = Math.floor((lower + upper) / 2);
      if (lowerTailExcess(q, sigma, direction, mid * step) > tailMass) upper = mid;
      else lower = mid;
    }
    lo = Math.min(lower, hi - 1);
  }
  const n = hi - lo + 1;
  if (n > MAX_PLD_GRID_POINTS) {
    throw new RangeError(`the PLD of one step (q = ${q}, σ = ${sigma}) needs ${n} grid points at step ${step}, more than ${MAX_PLD_GRID_POINTS}`);
  }
  const values = new Float64Array(n);
  const ts = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    values[i] = f(lo + i);
    ts[i] = Math.exp((lo + i) * step);
  }
  const probs = new Float64Array(n);
  // Chord slopes: below the grid from (0, 1); between grid points; 0 above the grid.
  let previousSlope = (values[0] - 1) / ts[0];
  for (let i = 0; i < n; i++) {
    const slope = i + 1 < n ? (values[i + 1] - values[i]) / (ts[i + 1] - ts[i]) : 0;
    // Convexity makes this ≥ 0; a negative value is rounding in f (≈ 1e-16), not mass.
    probs[i] = Math.max(0, (slope - previousSlope) * ts[i]);
    previousSlope = slope;
  }
  return { step, offset: lo, probs, infinityMass: values[n - 1] };
}
