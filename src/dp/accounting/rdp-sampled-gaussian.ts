/**
 * Rényi DP of the Poisson-sampled Gaussian mechanism (Mironov 2017, "Rényi Differential
 * Privacy"; Mironov, Talwar, Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian
 * Mechanism", arXiv:1908.10530).
 *
 * Each record takes part with probability q; the sum of the sample gets N(0, σ²) noise per
 * coordinate (sensitivity 1). For add-or-remove neighbours the worst case reduces to one
 * dimension, μ0 = N(0, σ²) against the mixture μ = (1 − q)·μ0 + q·N(1, σ²), and
 * (Mironov et al. 2019, Theorem 4) the order-α RDP is
 *
 *     ε(α) = log(A_α) / (α − 1),   A_α = E_{z∼μ0}[(μ(z)/μ0(z))^α],
 *
 * the larger of the two directions being D_α(μ‖μ0) (their Theorem 5 shows D_α(μ0‖μ) ≤ D_α(μ‖μ0)).
 * With μ(z)/μ0(z) = (1 − q) + q·exp((2z − 1)/(2σ²)):
 *
 *   integer α (section 3.2): the binomial expansion is finite,
 *     A_α = Σ_{k=0..α} C(α,k) (1 − q)^{α−k} q^k exp((k² − k)/(2σ²)).
 *     The k = 0 and k = 1 terms have exp(0) = 1 and the weights sum to 1, so
 *     A_α − 1 = Σ_{k≥2} C(α,k) (1 − q)^{α−k} q^k expm1((k² − k)/(2σ²)), all terms ≥ 0;
 *     summing that (in log space) and taking log1p keeps full relative precision when A_α is
 *     1 + 10⁻¹⁵ (tiny q, huge σ), where log of a sum of terms near 1 would keep none.
 *
 *   fractional α (section 3.3): split the integral at z0 = σ² log(1/q − 1) + 1/2, where the
 *     two parts of the ratio are equal, and expand (a + b)^α as a convergent binomial series
 *     in the smaller part on each side:
 *       A_α = Σ_{i≥0} C(α,i) (1 − q)^{α−i} q^i exp((i² − i)/(2σ²)) · ½ erfc((i − z0)/(√2 σ))
 *           + Σ_{i≥0} C(α,i) q^{α−i} (1 − q)^i exp(((α−i)² − (α−i))/(2σ²)) · ½ erfc((z0 − (α−i))/(√2 σ)).
 *     C(α,i) is the generalised binomial coefficient; its sign alternates once i > α + 1,
 *     which the sums keep (see SignedLogSum). Terms are summed until both series have passed
 *     the order, are decreasing, and are below e⁻⁴⁰ of the total (an alternating series with
 *     decreasing terms errs by less than its first omitted term); a series that has not
 *     converged after MAX_FRACTIONAL_TERMS gives ∞, a valid (useless) bound for that order.
 *
 *   q = 1: the plain Gaussian mechanism, ε(α) = α/(2σ²).
 */
import { logErfc } from './log-erfc.js';
import { log1pExp, logAddExp, logExpm1, SignedLogSum } from './log-space.js';
import { checkNoiseMultiplier, checkOrder, checkSamplingRate } from './parameter-checks.js';

/** RDP of the Gaussian mechanism with noise multiplier σ at order α: α/(2σ²). */
export function rdpGaussian(noiseMultiplier: number, order: number): number {
  checkNoiseMultiplier(noiseMultiplier, 'rdpGaussian');
  checkOrder(order, 'rdpGaussian');
  return order / (2 * noiseMultiplier * noiseMultiplier);
}

/** RDP of the Poisson-sampled Gaussian mechanism (one step) at order α > 1. */
export function rdpPoissonSampledGaussian(samplingRate: number, noiseMultiplier: number, order: number): number {
  const at = 'rdpPoissonSampledGaussian';
  const q = checkSamplingRate(samplingRate, at);
  const sigma = checkNoiseMultiplier(noiseMultiplier, at);
  const alpha = checkOrder(order, at);
  if (q === 1) return alpha / (2 * sigma * sigma);
  const logA = Number.isInteger(alpha) ? logAIntegerOrder(q, sigma, alpha) : logAFractionalOrder(q, sigma, alpha);
  // log A ≥ 0 mathematically (A_α ≥ 1 by Jensen); a hair below 0 is rounding in the fractional series.
  return Math.max(0, logA) / (alpha - 1);
}

/** The RDP curve of one step over the given orders. */
export function rdpPoissonSampledGaussianCurve(samplingRate: number, noiseMultiplier: number, orders: readonly number[]): number[] {
  return orders.map((order) => rdpPoissonSampledGaussian(samplingRate, noiseMultiplier, order));
}

/** log A_α for integer α ≥ 2 and 0 < q < 1, as log1p(A_α − 1) (see the file comment). */
function logAIntegerOrder(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoSigma2 = 2 * sigma * sigma;
  // log C(α, k), updated term by term: C(α,k) = C(α,k−1)·(α − k + 1)/k.
  let logBinom = Math.log(alpha); // k = 1
  let logExcess = -Infinity; // log(A_α − 1)
  for (let k = 2; k <= alpha; k++) {
    logBinom += Math.log((alpha - k + 1) / k);
    const term = logBinom + k * logQ + (alpha - k) * log1mQ + logExpm1((k * k - k) / twoSigma2);
    logExcess = logAddExp(logExcess, term);
  }
  return log1pExp(logExcess);
}

/** Terms summed at most, per series, for a fractional order (reached only for extreme parameters). */
export const MAX_FRACTIONAL_TERMS = 100_000;

/** log A_α for fractional α > 1 and 0 < q < 1 (the two series of Mironov et al. 2019, section 3.3). */
function logAFractionalOrder(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoSigma2 = 2 * sigma * sigma;
  const sqrt2Sigma = Math.SQRT2 * sigma;
  const z0 = sigma * sigma * (Math.log1p(-q) - logQ) + 0.5;
  const below = new SignedLogSum(); // the integral over z ≤ z0
  const above = new SignedLogSum(); // the integral over z > z0
  // Generalised binomial coefficient C(α, i) as sign and log magnitude.
  let binomSign: 1 | -1 = 1;
  let logBinom = 0;
  let lastBelow = Infinity;
  let lastAbove = Infinity;
  for (let i = 0; i < MAX_FRACTIONAL_TERMS; i++) {
    if (i > 0) {
      const factor = (alpha - i + 1) / i;
      if (factor < 0) binomSign = binomSign === 1 ? -1 : 1;
      logBinom += Math.log(Math.abs(factor));
    }
    const j = alpha - i;
    const logBelow = logBinom + i * logQ + j * log1mQ + (i * i - i) / twoSigma2 + logErfc((i - z0) / sqrt2Sigma) - Math.LN2;
    const logAbove = logBinom + j * logQ + i * log1mQ + (j * j - j) / twoSigma2 + logErfc((z0 - j) / sqrt2Sigma) - Math.LN2;
    below.add(binomSign, logBelow);
    above.add(binomSign, logAbove);
    const total = logAddExp(below.sign > 0 ? below.logAbs : -Infinity, above.sign > 0 ? above.logAbs : -Infinity);
    if (i > alpha + 1 && logBelow < lastBelow && logAbove < lastAbove && Math.max(logBelow, logAbove) < total - 40) {
      if (below.sign < 0 || above.sign < 0) return Infinity; // cannot happen for a convergent series; refuse to report a bound we cannot trust
      return total;
    }
    lastBelow = logBelow;
    lastAbove = logAbove;
  }
  return Infinity;
}
