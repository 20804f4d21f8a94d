/**
 * Conditional stochastic rounding to the integer grid (Kairouz, Liu, Steinke 2021,
 * "The Distributed Discrete Gaussian Mechanism", §4.1 and Theorem 1 / Prop. 22).
 *
 * Stochastic rounding moves each coordinate to ⌊x⌋ or ⌊x⌋ + 1, up with probability equal
 * to its fractional part, so it is unbiased, but it can lengthen the vector: the privacy
 * analysis needs a bound on the rounded vector's L2 norm, the sensitivity of the integer
 * sum. Rounding is therefore conditional: draw, and draw again while the rounded norm
 * exceeds the bound B(c, d, β) below. For a vector of norm ≤ c the first draw fails with
 * probability ≤ β, so the expected number of draws is ≤ 1/(1 − β) (β = 0 means no
 * re-draws: B = c + √d is never exceeded). The bound is enforced, not hoped for: the norm
 * test leaves room for float64's worst-case error on a sum of d squares, and after
 * MAX_TRIES failures (probability ≤ β^MAX_TRIES) the vector is rounded toward zero, which
 * never lengthens it. Either way ‖rounded‖ ≤ B holds exactly, which is all the accounting
 * (skellam-rdp.ts) uses. The conditioning biases the rounding by a little (the paper's
 * Prop. 22 bounds it); the tests measure it.
 */
import type { RandomStream } from '../../runtime/rng.js';
import { DpConfigError } from '../errors.js';

/** Draws before falling back to rounding toward zero: β^100 ≤ 1e-21 for the default β = e^(−1/2). */
export const MAX_ROUNDING_TRIES = 100;

/**
 * B(c, d, β): the L2 norm bound after rounding a vector of norm ≤ c in d dimensions —
 * min(c + √d, √(c² + d/4 + √(2 ln(1/β))·(c + √d/2))) (the second only for β > 0).
 */
export function roundedNormBound(normBound: number, dimension: number, beta: number): number {
  if (!(normBound > 0) || !Number.isFinite(normBound)) throw new DpConfigError(`roundedNormBound: the norm bound must be a finite number > 0, got ${normBound}`, { at: 'roundedNormBound', field: 'normBound', value: normBound });
  if (!Number.isSafeInteger(dimension) || dimension < 1) throw new DpConfigError(`roundedNormBound: the dimension must be a positive integer, got ${dimension}`, { at: 'roundedNormBound', field: 'dimension', value: dimension });
  if (!(beta >= 0 && beta < 1)) throw new DpConfigError(`roundedNormBound: beta must be in [0, 1), got ${beta}; e^(−1/2) ≈ 0.607 is the paper's choice`, { at: 'roundedNormBound', field: 'beta', value: beta });
  const plain = normBound + Math.sqrt(dimension);
  if (beta === 0) return plain;
  const squared = normBound * normBound + dimension / 4 + Math.sqrt(2 * Math.log(1 / beta)) * (normBound + Math.sqrt(dimension) / 2);
  return Math.min(plain, Math.sqrt(squared));
}

export interface Rounded {
  /** The rounded vector: exact integers, ‖·‖₂ ≤ the bound. */
  values: Float64Array;
  /** Draws made (1 when the first was within the bound; MAX_ROUNDING_TRIES when it fell back). */
  tries: number;
  /** True when every draw exceeded the bound and the vector was rounded toward zero instead. */
  fellBack: boolean;
}

/**
 * Rounds `x` stochastically, re-drawing until the rounded L2 norm is ≤ `bound`. Takes d
 * uniforms from `rng` per draw, whatever the values, so the stream's use depends only on
 * how many draws were needed. `x` must satisfy ‖x‖ < bound (it does when bound comes from
 * roundedNormBound of a bound on ‖x‖), else the fallback could exceed the bound too.
 */
export function conditionalRound(x: Float64Array, bound: number, rng: RandomStream): Rounded {
  const d = x.length;
  // A float64 sum of d non-negative terms is within (d + 1)·2^-53 of the true sum (relative): test against a bound that much lower.
  const limit = bound * bound * (1 - (d + 1) * 2 ** -52);
  const values = new Float64Array(d);
  for (let tries = 1; tries <= MAX_ROUNDING_TRIES; tries++) {
    let norm2 = 0;
    for (let i = 0; i < d; i++) {
      const floor = Math.floor(x[i]);
      const r = rng.next() < x[i] - floor ? floor + 1 : floor;
      values[i] = r;
      norm2 += r * r;
    }
    if (norm2 <= limit) return { values, tries, fellBack: false };
  }
  let norm2 = 0;
  for (let i = 0; i < d; i++) {
    values[i] = Math.trunc(x[i]);
    norm2 += values[i] * values[i];
  }
  if (!(norm2 <= limit)) {
    // The norm of a client's update is private: the text names only the bound.
    throw new DpConfigError(`conditionalRound: the vector's norm is not below the rounding bound ${bound}; pass a bound from roundedNormBound of the vector's norm bound`, {
      at: 'conditionalRound',
      field: 'bound',
      value: bound,
    });
  }
  return { values, tries: MAX_ROUNDING_TRIES, fellBack: true };
}
