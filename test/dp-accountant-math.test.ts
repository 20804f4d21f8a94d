/**
 * The accountant's mathematics, checked against computations that share no code with it:
 *
 *   - log erfc against tabulated values of erfc;
 *   - the RDP of the Poisson-sampled Gaussian (closed forms: the finite binomial sum for
 *     integer orders, the signed two-series expansion for fractional ones) against a direct
 *     numerical integration of the Rényi divergence of the mixture
 *     (1 − q)·N(0, σ²) + q·N(1, σ²) against N(0, σ²), in both directions;
 *   - its behaviour where naive formulas break (tiny q, huge σ, large orders) against the
 *     leading term of its expansion;
 *   - the RDP → (ε, δ) conversion for the plain Gaussian mechanism against its exact
 *     (ε, δ) curve (Balle & Wang 2018, Theorem 8): the conversion must never claim a smaller
 *     ε than the exact one, and should not be far above it.
 */
import test from 'ava';
import { logErfc } from '../src/dp/accounting/log-erfc.js';
import { logAddExp, logExpm1, log1pExp, SignedLogSum } from '../src/dp/accounting/log-space.js';
import { rdpGaussian, rdpPoissonSampledGaussian } from '../src/dp/accounting/rdp-sampled-gaussian.js';
import { classicEpsilonFromRdp, deltaFromRdp, epsilonAtOrder, epsilonFromRdp } from '../src/dp/accounting/rdp-to-dp.js';
import { DEFAULT_ORDERS } from '../src/dp/accounting/orders.js';

test('logErfc matches tabulated erfc to about 1e-14 relative, and keeps going where erfc underflows', (t) => {
  // erfc values (Abramowitz & Stegun table 7.1 extended; 16 digits from a multi-precision evaluation).
  const table: Array<[number, number]> = [
    [-2, 1.995322265018953],
    [-1, 1.842700792949715],
    [-0.3, 1.328626759459127],
    [0, 1],
    [0.1, 0.887537083981715],
    [0.5, 0.4795001221869535],
    [1, 0.1572992070502851],
    [1.5, 0.03389485352468927],
    [2, 0.004677734981047266],
    [3, 2.209049699858544e-5],
    [5, 1.537459794428035e-12],
    [10, 2.088487583762545e-45],
    [20, 5.395865611607901e-176],
  ];
  for (const [x, erfc] of table) {
    const got = Math.exp(logErfc(x));
    t.true(Math.abs(got - erfc) / erfc < 2e-14, `erfc(${x}) = ${got}, table ${erfc}`);
  }
  // Past x ≈ 26.5 erfc underflows; its asymptotic series, log erfc(x) = −x² − log(x√π) + log(1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + …), is accurate there.
  for (const x of [30, 100, 1e4]) {
    const series = -x * x - Math.log(x * Math.sqrt(Math.PI)) + Math.log1p(-1 / (2 * x * x) + 3 / (4 * x ** 4) - 15 / (8 * x ** 6));
    t.true(Math.abs(logErfc(x) - series) <= 1e-12 * Math.abs(series), `log erfc(${x}) = ${logErfc(x)}, series ${series}`);
  }
  t.is(logErfc(Infinity), -Infinity);
  t.is(logErfc(-Infinity), Math.LN2);
  t.true(Number.isNaN(logErfc(NaN)));
});

test('log-space helpers: sums, log(e^x − 1), log(1 + e^x) and signed sums keep their digits', (t) => {
  t.is(logAddExp(-Infinity, 3), 3);
  t.true(Math.abs(logAddExp(Math.log(2), Math.log(3)) - Math.log(5)) < 1e-15);
  t.true(Math.abs(logAddExp(1000, 1000) - (1000 + Math.LN2)) < 1e-12);
  t.true(Math.abs(logExpm1(1e-20) - Math.log(1e-20)) < 1e-12);
  t.true(Math.abs(logExpm1(800) - 800) < 1e-12);
  t.true(Math.abs(log1pExp(-800) - Math.exp(-800)) === 0);
  t.true(Math.abs(log1pExp(800) - 800) < 1e-12);
  const sum = new SignedLogSum();
  sum.add(1, Math.log(5));
  sum.add(-1, Math.log(2));
  t.true(sum.sign === 1 && Math.abs(sum.logAbs - Math.log(3)) < 1e-15);
  sum.add(-1, Math.log(7));
  t.true(sum.sign === -1 && Math.abs(sum.logAbs - Math.log(4)) < 1e-15);
  sum.add(1, Math.log(4));
  t.is(sum.logAbs, -Infinity);
});

// ── an independent RDP: numerical integration of the divergence ─────────────────

/** log Σ e^{v_i}. */
function logSumExp(values: number[]): number {
  let m = -Infinity;
  for (const v of values) if (v > m) m = v;
  let s = 0;
  for (const v of values) s += Math.exp(v - m);
  return m + Math.log(s);
}

/**
 * Both Rényi divergences of order α between μ = (1 − q)N(0, σ²) + qN(1, σ²) and μ0 = N(0, σ²),
 * by composite Simpson's rule on a grid that covers where the integrands live: the forward
 * integrand μ0·(μ/μ0)^α is a Gaussian around α at worst, so [−14σ − 1, α + 14σ + 1] leaves
 * out less than e^{−98} of it. The integrand is smooth, so Simpson's error is far below
 * what the comparisons ask for.
 */
function renyiByIntegration(q: number, sigma: number, alpha: number): { forward: number; backward: number } {
  const lo = -14 * sigma - 1;
  const hi = alpha + 14 * sigma + 1;
  const n = 200_000; // even
  const h = (hi - lo) / n;
  const forward: number[] = [];
  const backward: number[] = [];
  for (let i = 0; i <= n; i++) {
    const z = lo + i * h;
    const weight = Math.log(i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2);
    const logMu0 = -(z * z) / (2 * sigma * sigma) - Math.log(sigma * Math.sqrt(2 * Math.PI));
    // log(μ(z)/μ0(z)) = log((1 − q) + q·exp((2z − 1)/(2σ²))), summed stably.
    const a = Math.log(1 - q);
    const b = Math.log(q) + (2 * z - 1) / (2 * sigma * sigma);
    const logRatio = Math.max(a, b) + Math.log1p(Math.exp(Math.min(a, b) - Math.max(a, b)));
    forward.push(weight + logMu0 + alpha * logRatio); // μ0 (μ/μ0)^α = μ^α μ0^{1−α}
    backward.push(weight + logMu0 + (1 - alpha) * logRatio); // μ0^α μ^{1−α}
  }
  const logH3 = Math.log(h / 3);
  return { forward: (logSumExp(forward) + logH3) / (alpha - 1), backward: (logSumExp(backward) + logH3) / (alpha - 1) };
}

test('RDP of the sampled Gaussian equals the numerically integrated Rényi divergence, integer and fractional orders; the forward direction is the larger', (t) => {
  const cases: Array<[q: number, sigma: number, alpha: number]> = [
    [0.1, 1, 2],
    [0.1, 1, 3.7],
    [0.1, 1, 1.5],
    [0.01, 2.5, 1.5],
    [0.01, 2.5, 2.5],
    [0.01, 2.5, 5],
    [0.3, 0.5, 1.25],
    [0.3, 0.5, 4],
    [0.05, 0.8, 6.5],
    [0.001, 0.8, 2.25],
    [0.5, 2, 10],
    [0.2, 1.5, 17.3],
  ];
  for (const [q, sigma, alpha] of cases) {
    const closed = rdpPoissonSampledGaussian(q, sigma, alpha);
    const { forward, backward } = renyiByIntegration(q, sigma, alpha);
    const what = `q=${q} σ=${sigma} α=${alpha}: closed ${closed}, integrated ${forward} (other direction ${backward})`;
    t.true(Math.abs(closed - forward) <= 1e-7 * forward, what);
    t.true(backward <= forward * (1 + 1e-9), `${what}: the direction the accountant uses is the larger one`);
  }
});

test('q = 1 is the plain Gaussian mechanism α/(2σ²)', (t) => {
  for (const [sigma, alpha] of [[1, 2], [0.7, 3.5], [10, 256]] as const) {
    t.is(rdpPoissonSampledGaussian(1, sigma, alpha), alpha / (2 * sigma * sigma));
    t.is(rdpGaussian(sigma, alpha), alpha / (2 * sigma * sigma));
    const { forward } = renyiByIntegration(1 - 1e-12, sigma, alpha);
    t.true(Math.abs(forward - alpha / (2 * sigma * sigma)) < 1e-6 * forward, `σ=${sigma} α=${alpha}: integrated ${forward}`);
  }
});

test('stable where naive sums fail: tiny q, huge σ and large orders keep the leading term of the expansion', (t) => {
  // For small q (or large σ) A_α − 1 ≈ C(α,2) q² (e^{1/σ²} − 1), so RDP ≈ α q² (e^{1/σ²} − 1)/2: a value
  // of 1e-20 that a log of a sum of terms near 1 would round to 0.
  for (const [q, sigma, alpha] of [[1e-9, 1, 2], [1e-7, 1, 8], [1e-6, 1, 1.5], [1e-6, 1, 2.5], [0.01, 1e4, 3], [0.01, 1e4, 2.5]] as const) {
    const leading = (alpha * q * q * Math.expm1(1 / (sigma * sigma))) / 2;
    const rdp = rdpPoissonSampledGaussian(q, sigma, alpha);
    t.true(rdp > 0, `q=${q} σ=${sigma} α=${alpha}: positive`);
    t.true(Math.abs(rdp - leading) <= 1e-3 * leading, `q=${q} σ=${sigma} α=${alpha}: ${rdp} vs leading term ${leading}`);
  }
  // Large orders with little noise: terms e^{k²/(2σ²)} far beyond a double, finite results all the same, rising with the order.
  let previous = 0;
  for (const alpha of [64, 256, 1024, 4096]) {
    const rdp = rdpPoissonSampledGaussian(0.01, 0.5, alpha);
    t.true(Number.isFinite(rdp) && rdp > previous, `α=${alpha}: ${rdp}`);
    previous = rdp;
  }
  // And for large α the RDP tends to the Gaussian's (the sampled term dominates): RDP(α) ≥ (α·1/(2σ²)·α + α log q)/(α − 1) roughly; check it stays below the unsampled bound.
  t.true(rdpPoissonSampledGaussian(0.01, 0.5, 4096) <= 4096 / (2 * 0.25));
  // Fractional orders near and far: finite, below the unsampled Gaussian.
  for (const alpha of [1.05, 1.5, 7.3, 64.5, 256.1]) {
    const rdp = rdpPoissonSampledGaussian(0.01, 0.9, alpha);
    t.true(Number.isFinite(rdp) && rdp >= 0 && rdp <= alpha / (2 * 0.81), `α=${alpha}: ${rdp}`);
  }
});

// ── the conversion against the exact Gaussian curve ─────────────────────────────

/** The exact δ(ε) of the Gaussian mechanism with sensitivity 1 and noise σ (Balle & Wang 2018, Thm 8): Φ(1/(2σ) − εσ) − e^ε Φ(−1/(2σ) − εσ). */
function exactGaussianDelta(sigma: number, epsilon: number): number {
  const phi = (x: number) => Math.exp(logErfc(-x / Math.SQRT2)) / 2;
  return phi(1 / (2 * sigma) - epsilon * sigma) - Math.exp(epsilon) * phi(-1 / (2 * sigma) - epsilon * sigma);
}

/** The exact ε for δ, by bisection on the decreasing δ(ε). */
function exactGaussianEpsilon(sigma: number, delta: number): number {
  let lo = 0;
  let hi = 1;
  while (exactGaussianDelta(sigma, hi) > delta) hi *= 2;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (exactGaussianDelta(sigma, mid) > delta) lo = mid;
    else hi = mid;
  }
  return hi;
}

test('the tight conversion is an upper bound on the exact ε of the Gaussian mechanism, and a close one', (t) => {
  // A fine grid of orders, as the bound is a minimum over them.
  const orders = Array.from({ length: 2000 }, (_, i) => 1.01 + i * 0.05);
  let worstGap = 0;
  for (const sigma of [0.5, 0.8, 1, 2, 5, 20]) {
    for (const delta of [1e-3, 1e-5, 1e-8, 1e-12]) {
      const curve = { orders, rdp: orders.map((a) => rdpGaussian(sigma, a)) };
      const { epsilon } = epsilonFromRdp(curve, delta);
      const exact = exactGaussianEpsilon(sigma, delta);
      t.true(epsilon >= exact - 1e-9, `σ=${sigma} δ=${delta}: RDP ε ${epsilon} < exact ${exact}`);
      t.true(exactGaussianDelta(sigma, epsilon) <= delta * (1 + 1e-9), `σ=${sigma} δ=${delta}: exact δ at the reported ε exceeds δ`);
      // The tight conversion is within 25% of the exact ε here (the classic one is not).
      t.true(epsilon <= exact * 1.25 + 1e-9, `σ=${sigma} δ=${delta}: ${epsilon} vs exact ${exact}`);
      t.true(classicEpsilonFromRdp(curve, delta).epsilon >= epsilon, 'the classic conversion is never better');
      worstGap = Math.max(worstGap, epsilon / exact);
      // δ for the reported ε comes back to δ (the two conversions are inverses at the optimum).
      const back = deltaFromRdp(curve, epsilon).delta;
      t.true(back <= delta * (1 + 1e-6), `σ=${sigma} δ=${delta}: δ(ε) = ${back}`);
    }
  }
  t.log(`worst ratio RDP ε / exact ε: ${worstGap.toFixed(4)}`);
});

test('the conversion at one order is the closed form of Balle et al. 2020, Thm 21; the KL route gives ε = 0 when δ² ≥ 1 − e^{−ρ}', (t) => {
  const [alpha, rho, delta] = [8, 0.3, 1e-5];
  t.is(epsilonAtOrder(alpha, rho, delta), rho + Math.log((alpha - 1) / alpha) - (Math.log(delta) + Math.log(alpha)) / (alpha - 1));
  t.is(epsilonAtOrder(2, 1e-12, 1e-5), 0, 'ρ = 1e-12 ≤ −log(1 − δ²): total variation ≤ δ');
  t.is(epsilonAtOrder(2, Infinity, 1e-5), Infinity);
  t.is(epsilonFromRdp({ orders: [2, 3], rdp: [Infinity, Infinity] }, 1e-5).epsilon, Infinity);
  t.is(epsilonFromRdp({ orders: DEFAULT_ORDERS, rdp: DEFAULT_ORDERS.map(() => 0) }, 1e-5).epsilon, 0);
  t.is(deltaFromRdp({ orders: DEFAULT_ORDERS, rdp: DEFAULT_ORDERS.map(() => 0) }, 0).delta, 0);
});
