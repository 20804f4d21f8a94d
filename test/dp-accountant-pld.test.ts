/**
 * The PLD accountant: against TF Privacy's published PLD figures (which come from
 * dp_accounting's PLD accountant, connect-the-dots at Δ = 1e-4), against the exact (ε, δ)
 * curve of composed Gaussians (Balle & Wang 2018), against a numerical integration of the
 * hockey-stick divergence of the sampled Gaussian for one and two steps, and against RDP
 * (PLD must be tighter here, and never below the exact value).
 */
import test from 'ava';
import { PrivacyAccountant } from '../src/dp/accounting/accountant.js';
import type { DpEvent } from '../src/dp/accounting/events.js';
import { logErfc } from '../src/dp/accounting/log-erfc.js';
import { sampledGaussianHockeyStick } from '../src/dp/accounting/pld-sampled-gaussian.js';
import { DpConfigError } from '../src/dp/errors.js';

const sampled = (samplingRate: number, noiseMultiplier: number): DpEvent => ({ kind: 'poisson-sampled-gaussian', samplingRate, noiseMultiplier });
const pld = () => new PrivacyAccountant({ kind: 'pld' });

test("TF Privacy's PLD figures (compute_dp_sgd_privacy_test: 1.2 epochs, σ = 0.7, δ = 1e-5): 2.4612381 with q = 0.01 (120 steps), 10.1224946 without sampling (2 steps)", (t) => {
  const withSampling = pld().compose(sampled(0.01, 0.7), 120).epsilon(1e-5);
  t.is(withSampling.accountant, 'pld');
  t.is(withSampling.order, undefined);
  t.true(Math.abs(withSampling.epsilon - 2.4612381) < 2e-7, `${withSampling.epsilon}`);
  const gaussian = pld().compose({ kind: 'gaussian', noiseMultiplier: 0.7 }, 2).epsilon(1e-5).epsilon;
  t.true(Math.abs(gaussian - 10.1224946) < 2e-7, `${gaussian}`);
  // The same cases with RDP, TF Privacy's figures 3.2392676 and 10.8602036 (dp_accounting's orders; fedsim's grid is denser, so ≤).
  const rdp = new PrivacyAccountant().compose(sampled(0.01, 0.7), 120).epsilon(1e-5).epsilon;
  t.true(rdp <= 3.2392676 && rdp > 3.2, `${rdp}`);
  t.true(withSampling.epsilon < rdp);
});

test('Abadi et al. 2016 MNIST (q = 256/60000, σ = 1.1, 14063 steps, δ = 1e-5): PLD 2.382, below RDP 2.597; a finer grid moves it by < 2e-4', (t) => {
  const coarse = pld().compose(sampled(256 / 60000, 1.1), 14063).epsilon(1e-5).epsilon;
  t.true(Math.abs(coarse - 2.38178) < 1e-5, `${coarse}`);
  const fine = new PrivacyAccountant({ kind: 'pld', discretization: 2e-5 }).compose(sampled(256 / 60000, 1.1), 14063).epsilon(1e-5).epsilon;
  t.true(fine <= coarse && coarse - fine < 2e-4, `Δ = 2e-5: ${fine}`);
});

/** Φ(x), and the exact δ(ε) of the Gaussian mechanism with noise σ (Balle & Wang 2018, Thm 8). */
const phi = (x: number) => Math.exp(logErfc(-x / Math.SQRT2)) / 2;
const gaussianDelta = (sigma: number, epsilon: number) =>
  phi(1 / (2 * sigma) - epsilon * sigma) - Math.exp(epsilon + logErfc((1 / (2 * sigma) + epsilon * sigma) / Math.SQRT2) - Math.LN2); // e^ε·Φ(−a) in log space: e^ε alone overflows past ε ≈ 709

test('composed Gaussians: PLD ε is never below the exact ε (T steps of σ = one step of σ/√T) and within 1e-3 of it', (t) => {
  // The last case has losses in the thousands (σ = 0.05): a coarser grid, and sums that would underflow e^{−ℓ} if kept naively.
  for (const [sigma, steps, delta, discretization] of [[1, 1, 1e-5, 1e-4], [2, 10, 1e-6, 1e-4], [5, 100, 1e-5, 1e-4], [0.8, 3, 1e-3, 1e-4], [0.05, 10, 1e-5, 1e-3]] as const) {
    const effective = sigma / Math.sqrt(steps);
    let lo = 0;
    let hi = 5000;
    for (let i = 0; i < 200; i++) {
      const mid = (lo + hi) / 2;
      if (gaussianDelta(effective, mid) > delta) lo = mid;
      else hi = mid;
    }
    const accountant = new PrivacyAccountant({ kind: 'pld', discretization }).compose({ kind: 'gaussian', noiseMultiplier: sigma }, steps);
    const epsilon = accountant.epsilon(delta).epsilon;
    t.true(epsilon >= hi - 1e-9 && epsilon <= hi + 1e-3, `σ=${sigma} T=${steps} δ=${delta}: PLD ${epsilon}, exact ${hi}`);
    // δ at a few ε: PLD's δ bounds the exact one from above, closely.
    for (const e of [0.5 * hi, hi, 1.5 * hi]) {
      const exact = gaussianDelta(effective, e);
      const got = accountant.delta(e);
      t.true(got >= exact * (1 - 1e-9) && got <= exact * 1.02 + 1e-13, `σ=${sigma} T=${steps} ε=${e}: δ ${got}, exact ${exact}`);
    }
  }
});

/**
 * δ(ε) of one step by direct numerical integration, independent of the closed form:
 * ∫ (p(x) − e^ε q(x))₊ dx with (p, q) = (mixture, N(0, σ²)) for 'remove' and the reverse for 'add'.
 */
function hockeyStickByIntegration(q: number, sigma: number, direction: 'remove' | 'add', epsilon: number): number {
  const lo = -14 * sigma - 1;
  const hi = 14 * sigma + 2;
  const n = 400_000;
  const h = (hi - lo) / n;
  const density = (x: number, mean: number) => Math.exp(-((x - mean) ** 2) / (2 * sigma * sigma)) / (sigma * Math.sqrt(2 * Math.PI));
  let sum = 0;
  for (let i = 0; i <= n; i++) {
    const x = lo + i * h;
    const mixture = (1 - q) * density(x, 0) + q * density(x, 1);
    const [p, r] = direction === 'remove' ? [mixture, density(x, 0)] : [density(x, 0), mixture];
    const value = Math.max(0, p - Math.exp(epsilon) * r);
    sum += (i === 0 || i === n ? 0.5 : 1) * value;
  }
  return sum * h;
}

test('one step: the hockey-stick closed form equals numerical integration, both directions; the PLD accountant bounds it from above', (t) => {
  for (const [q, sigma] of [[0.1, 1], [0.3, 0.6], [0.02, 0.8]] as const) {
    const accountant = pld().compose(sampled(q, sigma));
    for (const epsilon of [0, 0.05, 0.3, 1, 2]) {
      const integrated = Math.max(hockeyStickByIntegration(q, sigma, 'remove', epsilon), hockeyStickByIntegration(q, sigma, 'add', epsilon));
      for (const direction of ['remove', 'add'] as const) {
        const closed = sampledGaussianHockeyStick(q, sigma, direction, epsilon);
        const byIntegration = hockeyStickByIntegration(q, sigma, direction, epsilon);
        t.true(Math.abs(closed - byIntegration) <= 1e-7 * Math.max(byIntegration, 1e-6), `q=${q} σ=${sigma} ${direction} ε=${epsilon}: ${closed} vs ${byIntegration}`);
      }
      const got = accountant.delta(epsilon);
      t.true(got >= integrated * (1 - 1e-7) && got <= integrated * 1.01 + 1e-12, `q=${q} σ=${sigma} ε=${epsilon}: PLD δ ${got}, integrated ${integrated}`);
    }
  }
});

test('two steps: PLD δ bounds the exact δ of the composition (one integral over the first step of the second step\'s closed form) from above, closely', (t) => {
  const [q, sigma] = [0.2, 0.9];
  const accountant = pld().compose(sampled(q, sigma), 2);
  for (const epsilon of [0.2, 0.7, 1.5]) {
    let worst = 0;
    for (const direction of ['remove', 'add'] as const) {
      // δ₂(ε) = E_{x∼P}[f₁(e^{ε − L(x)})], f₁ the one-step curve (checked against integration above).
      const lo = -14 * sigma - 1;
      const hi = 14 * sigma + 2;
      const n = 200_000;
      const h = (hi - lo) / n;
      let sum = 0;
      for (let i = 0; i <= n; i++) {
        const x = lo + i * h;
        const d0 = Math.exp(-(x * x) / (2 * sigma * sigma)) / (sigma * Math.sqrt(2 * Math.PI));
        const d1 = Math.exp(-((x - 1) ** 2) / (2 * sigma * sigma)) / (sigma * Math.sqrt(2 * Math.PI));
        const mixture = (1 - q) * d0 + q * d1;
        const [p, r] = direction === 'remove' ? [mixture, d0] : [d0, mixture];
        const loss = Math.log(p / r);
        const weight = i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2;
        sum += weight * p * sampledGaussianHockeyStick(q, sigma, direction, epsilon - loss);
      }
      worst = Math.max(worst, (sum * h) / 3);
    }
    const got = accountant.delta(epsilon);
    t.true(got >= worst * (1 - 1e-7) && got <= worst * 1.01, `ε=${epsilon}: PLD δ ${got}, exact ${worst}`);
  }
});

test('PLD: ε grows with steps and falls with noise; clone and JSON keep the kind and grid; rdp-curve events and bad grids are refused', (t) => {
  const few = pld().compose(sampled(0.05, 1), 10).epsilon(1e-5).epsilon;
  const many = pld().compose(sampled(0.05, 1), 100).epsilon(1e-5).epsilon;
  const noisier = pld().compose(sampled(0.05, 2), 100).epsilon(1e-5).epsilon;
  t.true(few < many && noisier < many, `${few} ${many} ${noisier}`);
  const a = new PrivacyAccountant({ kind: 'pld', discretization: 5e-4 }).compose(sampled(0.05, 1), 10).compose({ kind: 'gaussian', noiseMultiplier: 20 });
  const back = PrivacyAccountant.fromJSON(JSON.parse(JSON.stringify(a)));
  t.is(back.kind, 'pld');
  t.is(back.discretization, 5e-4);
  t.is(back.epsilon(1e-5).epsilon, a.epsilon(1e-5).epsilon);
  const copy = a.clone().compose(sampled(0.05, 1), 50);
  t.true(copy.epsilon(1e-5).epsilon > a.epsilon(1e-5).epsilon);
  t.deepEqual(pld().epsilon(1e-5), { epsilon: 0, delta: 1e-5, accountant: 'pld' });
  const error = t.throws(() => pld().compose({ kind: 'rdp-curve', name: 'skellam', orders: [2], rdp: [0.1] }), { instanceOf: DpConfigError });
  t.regex(error.message, /PLD accountant cannot compose an rdp-curve event \('skellam'\).*Use the RDP accountant/);
  for (const discretization of [0, 1, NaN]) {
    t.throws(() => new PrivacyAccountant({ kind: 'pld', discretization }), { instanceOf: DpConfigError, message: /discretization must be a number in \[1e-6, 1e-2\]/ });
  }
});

test('PLD: a δ below the discretisation\'s mass at +∞ is refused, naming δ and the RDP accountant, instead of ε = ∞', (t) => {
  const pld = new PrivacyAccountant({ kind: 'pld' }).compose({ kind: 'poisson-sampled-gaussian', samplingRate: 0.01, noiseMultiplier: 1 }, 1000);
  const error = t.throws(() => pld.epsilon(1e-14), { instanceOf: DpConfigError });
  t.regex(error!.message, /δ = 1e-14 is below the PLD accountant's resolution/);
  t.regex(error!.message, /RDP accountant/);
  t.is((error as DpConfigError & { where: { field?: string } }).where.field, 'delta');
  // The same steps at an ordinary δ, and the RDP accountant at the tiny one, still answer.
  t.true(Number.isFinite(pld.epsilon(1e-5).epsilon));
  t.true(Number.isFinite(new PrivacyAccountant().compose({ kind: 'poisson-sampled-gaussian', samplingRate: 0.01, noiseMultiplier: 1 }, 1000).epsilon(1e-14).epsilon));
});
