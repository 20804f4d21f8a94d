/**
 * How likely a round's sum leaves the ring — a rigorous tail bound, so that settings whose
 * overflow is not negligible can be refused before a run (plan.ts).
 *
 * One coordinate j of the integer sum the server decodes is
 *
 *   T_j = A_j + E_j + N_j,   A_j = (H·D·S)_j/√d,   S = Σ_i x_i   (the scaled, clipped updates),
 *
 * E_j = Σ_i e_ij the clients' rounding errors and N_j the summed Skellam noise. The decode
 * is right iff T_j ∈ [−m/2, m/2); we bound P(|T_j| > m/2 − 1) for every coordinate and
 * round at once:
 *
 *   A_j  the signs D are shared by the round and independent of the updates, so A_j is a
 *        Rademacher sum Σ_l ±S_l/√d: E[e^(θA)] ≤ e^(θ²σ²/2) with σ² = ‖S‖²/d ≤ (n·c)²/d
 *        (Hoeffding), c = C·s the bound on one scaled update's norm.
 *   E_j  every |e_ij| < 1, so |E_j| < n, surely (conditional rounding or not).
 *   N_j  Sk(V/2, V/2) with V the total noise variance: E[e^(θN)] = e^(V(cosh θ − 1)).
 *
 * A and N are independent, so by Chernoff, with t = m/2 − 1 − n,
 *
 *   P(A + N ≥ t) ≤ min_θ>0 exp(−θt + θ²σ²/2 + V(cosh θ − 1)),
 *
 * and the same for the lower tail (both are symmetric). A union bound over the d
 * coordinates and R rounds gives the run's bound 2·d·R·min_θ(…). Fewer clients (dropouts,
 * a small Poisson sample) only shrink σ², V and n, so the bound at the largest n and the
 * full V covers every round.
 */
import { DpConfigError } from '../errors.js';
import { ringModulus } from './ring.js';

export interface OverflowSetting {
  /** The ring is Z_{2^bits}. */
  bits: number;
  /** c = C·s: the L2 bound on one client's scaled update, before rounding. */
  scaledClip: number;
  /** d: the padded (rotated) dimension. */
  dimension: number;
  /** The largest number of clients whose vectors one sum holds. */
  participants: number;
  /** V: the total Skellam variance of one round's sum at full participation. */
  noiseVariance: number;
  /** R: rounds the bound covers (a union over them). */
  rounds: number;
}

function positive(at: string, field: string, value: number, integer: boolean): void {
  if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new DpConfigError(`${at}: ${field} must be a ${integer ? 'positive integer' : 'finite number > 0'}, got ${value}.`, { at, field, value });
  }
}

/** ln of the bound on P(some coordinate of some round's sum leaves [−m/2, m/2)); ≤ 0. */
export function logOverflowBound(setting: OverflowSetting): number {
  const at = 'logOverflowBound';
  const m = ringModulus(setting.bits);
  positive(at, 'scaledClip', setting.scaledClip, false);
  positive(at, 'dimension', setting.dimension, true);
  positive(at, 'participants', setting.participants, true);
  positive(at, 'rounds', setting.rounds, true);
  if (!(setting.noiseVariance >= 0) || !Number.isFinite(setting.noiseVariance)) {
    throw new DpConfigError(`${at}: noiseVariance must be a finite number ≥ 0, got ${setting.noiseVariance}.`, { at, field: 'noiseVariance', value: setting.noiseVariance });
  }
  const { scaledClip: c, dimension: d, participants: n, noiseVariance: v, rounds } = setting;
  const t = m / 2 - 1 - n;
  if (t <= 0) return 0;
  const sigma2 = (n * c) ** 2 / d;
  const exponent = minChernoffExponent(t, sigma2, v);
  return Math.min(0, Math.LN2 + Math.log(d) + Math.log(rounds) + exponent);
}

/** The bound itself (a probability; may underflow to 0 for comfortable settings — use the log). */
export function overflowBound(setting: OverflowSetting): number {
  return Math.exp(logOverflowBound(setting));
}

/** min over θ > 0 of −θt + θ²σ²/2 + V(cosh θ − 1): convex in θ, so the root of its derivative. */
function minChernoffExponent(t: number, sigma2: number, v: number): number {
  const exponent = (theta: number) => -theta * t + (theta * theta * sigma2) / 2 + 2 * v * Math.sinh(theta / 2) ** 2;
  const slope = (theta: number) => -t + theta * sigma2 + v * Math.sinh(theta);
  let lo = 0;
  let hi = 1;
  while (slope(hi) < 0 && hi < 1e300) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (slope(mid) < 0) lo = mid;
    else hi = mid;
  }
  // Any θ gives a valid bound; the bisection's end points bracket the optimum, take the better.
  return Math.min(exponent(lo), exponent(hi));
}
