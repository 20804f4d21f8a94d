/**
 * Poisson and Skellam variates from a seeded stream, exact for any mean.
 *
 * Distributed DP's noise share is Skellam: Sk(λ, λ) = Poisson(λ) − Poisson(λ), variance 2λ.
 * Sums of independent Skellams are Skellam (Sk(λ₁) + Sk(λ₂) = Sk(λ₁ + λ₂)), which is why
 * n clients each adding Sk(λ/n) give the sum exactly Sk(λ) — but only if every Poisson
 * variate is drawn from the exact distribution; an approximation (a rounded normal, say)
 * would break the privacy analysis, which is stated for the exact noise.
 *
 * Two exact methods, each a function of the stream's uniforms alone (so the same seed gives
 * the same variates, and the stream's use depends only on the draws, never on wall time):
 *
 *   mean < 10   inversion by sequential search: the smallest k with F(k) ≥ u.
 *   mean ≥ 10   PTRS, Hörmann's transformed rejection with squeeze ("The transformed
 *               rejection method for generating Poisson random variables", Insurance:
 *               Mathematics and Economics 12, 1993) — the method NumPy uses. It accepts a
 *               candidate by comparing with the exact log-pmf, so its output is exactly
 *               Poisson (up to the float64 evaluation of that log-pmf).
 *
 * The log-pmf is evaluated without cancellation for large means (k and λ ~ 1e12 would lose
 * every digit in k·ln λ − λ − ln k!): ln p(k) = −bd0(k, λ) − ½ ln(2πk) − δ(k), with
 * Loader's deviance bd0 ("Fast and accurate computation of binomial probabilities", 2000)
 * and δ Stirling's remainder. @stdlib/random-base-poisson implements the same methods; it is
 * not a dependency of fedsim, and these forty lines are what its exactness rests on, so they
 * are here with their own statistical tests (test/dp-distributed-sampler.test.ts).
 */
import type { RandomStream } from '../../runtime/rng.js';
import { DpConfigError } from '../errors.js';

/** The largest Poisson mean accepted: variates stay far below 2^53, so every count is an exact double. */
export const MAX_POISSON_MEAN = 2 ** 50;

/** Below this, ln k! comes from a table; from it on, from Stirling's series (its first omitted term is < 5e-17 there). */
const STIRLING_FROM = 30;

/** ln k! for k < STIRLING_FROM, summed (a few ulps). */
const LN_FACTORIAL_SMALL = (() => {
  const out = [0];
  for (let k = 1; k < STIRLING_FROM; k++) out.push(out[k - 1] + Math.log(k));
  return out;
})();

const LN_2PI = Math.log(2 * Math.PI);

/** δ(k) = ln k! − (k ln k − k + ½ ln 2πk), Stirling's series to four terms: the next, 1/(1188k⁹), is < 5e-17 for k ≥ 30. */
function stirlingRemainder(k: number): number {
  const k2 = k * k;
  return (1 / 12 - (1 / 360 - (1 / 1260 - 1 / (1680 * k2)) / k2) / k2) / k;
}

/** bd0(x, m) = x ln(x/m) + m − x ≥ 0, by Loader's series when x is near m (where the direct form cancels). */
export function deviance(x: number, mean: number): number {
  if (Math.abs(x - mean) < 0.1 * (x + mean)) {
    const v = (x - mean) / (x + mean);
    const v2 = v * v;
    let sum = (x - mean) * v;
    let term = 2 * x * v;
    for (let j = 1; j < 1000; j++) {
      term *= v2;
      const next = sum + term / (2 * j + 1);
      if (next === sum) return next;
      sum = next;
    }
    return sum;
  }
  return x * Math.log(x / mean) + mean - x;
}

/** ln P(X = k) for X ~ Poisson(mean), k a non-negative integer, mean > 0. */
export function poissonLogPmf(k: number, mean: number): number {
  if (k < STIRLING_FROM) return k * Math.log(mean) - mean - LN_FACTORIAL_SMALL[k];
  return -deviance(k, mean) - 0.5 * (LN_2PI + Math.log(k)) - stirlingRemainder(k);
}

/** One Poisson(mean) variate. `mean` must be finite, ≥ 0 and ≤ MAX_POISSON_MEAN. */
export function samplePoisson(mean: number, rng: RandomStream): number {
  if (!(mean >= 0) || mean > MAX_POISSON_MEAN) {
    throw new DpConfigError(`samplePoisson: mean must be a number in [0, 2^50], got ${mean}; a larger mean would give counts beyond exact float64 integers (lower the scale)`, {
      at: 'samplePoisson',
      field: 'mean',
      value: mean,
    });
  }
  if (mean === 0) return 0;
  return mean < 10 ? byInversion(mean, rng) : byTransformedRejection(mean, rng);
}

function byInversion(mean: number, rng: RandomStream): number {
  const u = rng.next();
  let k = 0;
  let p = Math.exp(-mean);
  let cdf = p;
  // p reaches 0 only far in the tail (k ≫ 100 for mean < 10), where u > cdf can hold by rounding alone.
  while (u > cdf && p > 0) {
    k++;
    p *= mean / k;
    cdf += p;
  }
  return k;
}

function byTransformedRejection(mean: number, rng: RandomStream): number {
  const sqrtMean = Math.sqrt(mean);
  const b = 0.931 + 2.53 * sqrtMean;
  const a = -0.059 + 0.02483 * b;
  const logInvAlpha = Math.log(1.1239 + 1.1328 / (b - 3.4));
  const squeeze = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng.next() - 0.5;
    const v = rng.next();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + mean + 0.43);
    if (us >= 0.07 && v <= squeeze) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + logInvAlpha - Math.log(a / (us * us) + b) <= poissonLogPmf(k, mean)) return k;
  }
}

/**
 * `length` independent Skellam Sk(λ, λ) variates (each Poisson(λ) − Poisson(λ); variance
 * 2λ), as exact integers in a Float64Array. λ = 0 gives zeros and draws nothing.
 */
export function sampleSkellamVector(length: number, lambda: number, rng: RandomStream): Float64Array {
  const out = new Float64Array(length);
  if (lambda === 0) return out;
  for (let i = 0; i < length; i++) out[i] = samplePoisson(lambda, rng) - samplePoisson(lambda, rng);
  return out;
}
