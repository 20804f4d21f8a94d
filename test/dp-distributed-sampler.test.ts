/**
 * The Poisson / Skellam sampler behind distributed DP's noise shares (src/dp/distributed/poisson.ts).
 *
 * Statistical checks use fixed seeds; each is at level α = 1e-4 (a correct sampler fails one
 * with probability 1e-4 over seeds). There are 12 such checks in this file, so the chance that
 * a correct sampler fails any of them for a random seed is below 1.2e-3.
 */
import test from 'ava';
import { poissonLogPmf, samplePoisson, sampleSkellamVector } from '../src/dp/distributed/poisson.js';
import { DpConfigError } from '../src/dp/errors.js';
import { createStream } from '../src/runtime/rng.js';
import { chiSquareGoodnessOfFit, chiSquareInterval, chiSquareQuantile, mean, normalQuantile, variance } from './helpers/statistics.js';

const ALPHA = 1e-4;

/** ln k! as a compensated (Kahan) sum of ln j: accurate to a few ulps of the result. */
function lnFactorial(k: number): number {
  let sum = 0;
  let carry = 0;
  for (let j = 2; j <= k; j++) {
    const y = Math.log(j) - carry;
    const next = sum + y;
    carry = next - sum - y;
    sum = next;
  }
  return sum;
}

/** ln P(K = k) the slow, independent way: k ln λ − λ − Σ_{j ≤ k} ln j. */
function directLogPmf(k: number, lambda: number): number {
  return k * Math.log(lambda) - lambda - lnFactorial(k);
}

test('the log-pmf matches the direct sum, also for means where k ln λ − λ − ln k! cancels to the last digit', (t) => {
  for (const [k, lambda] of [
    [0, 3],
    [7, 3],
    [9, 12.5],
    [10, 12.5],
    [40, 25],
    [1_000, 1_000],
    [1_050, 1_000],
    [100_000, 99_500],
    [10_003_000, 10_000_000],
  ]) {
    // The direct form cancels terms of size k ln λ, λ and ln k! to a result of size ~10: its own error is a few ulps of those.
    const tolerance = 1e-13 + 8e-16 * (k * Math.abs(Math.log(lambda)) + lambda + lnFactorial(k));
    t.true(Math.abs(poissonLogPmf(k, lambda) - directLogPmf(k, lambda)) < tolerance, `k=${k} λ=${lambda}: ${poissonLogPmf(k, lambda)} vs ${directLogPmf(k, lambda)}`);
  }
  // A hand value: P(K = 2 | λ = 3) = 9/2 · e^(−3).
  t.true(Math.abs(Math.exp(poissonLogPmf(2, 3)) - 4.5 * Math.exp(-3)) < 1e-15);
});

// Means on both sides of the switch at 10 (inversion below, PTRS above) and far into PTRS.
for (const lambda of [0.3, 4, 9.99, 10, 37.5, 2_000, 3e7]) {
  test(`Poisson(${lambda}): χ² goodness of fit against the exact pmf (α = 1e-4)`, (t) => {
    const rng = createStream('poisson-gof', `mean-${lambda}`);
    const n = 40_000;
    const samples = Float64Array.from({ length: n }, () => samplePoisson(lambda, rng));
    t.true(samples.every((k) => Number.isInteger(k) && k >= 0));
    const spread = 9 * Math.sqrt(lambda) + 20;
    const { statistic, df } = chiSquareGoodnessOfFit(samples, (k) => poissonLogPmf(k, lambda), [Math.max(0, Math.floor(lambda - spread)), Math.ceil(lambda + spread)]);
    t.true(df >= 3, `enough bins (df ${df})`);
    t.true(statistic < chiSquareQuantile(ALPHA, df), `χ² = ${statistic.toFixed(1)} with ${df} df; critical ${chiSquareQuantile(ALPHA, df).toFixed(1)}`);
  });
}

// The χ² test is weak against a small shift of the mean; a million draws see a bias of 0.01 at λ = 10 (z ≈ 3).
for (const lambda of [10, 37.5, 1000]) {
  test(`Poisson(${lambda}): the mean of a million draws is λ (z-test, α = 1e-4)`, (t) => {
    const rng = createStream('poisson-mean', `mean-${lambda}`);
    const n = 1_000_000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += samplePoisson(lambda, rng);
    const z = (sum / n - lambda) / Math.sqrt(lambda / n);
    t.true(Math.abs(z) < normalQuantile(1 - ALPHA / 2), `z = ${z.toFixed(2)}`);
  });
}

test('Skellam shares: mean 0 and variance 2λ (z-test and χ² variance interval, each α = 1e-4)', (t) => {
  const lambda = 1234.5;
  const n = 50_000;
  const x = sampleSkellamVector(n, lambda, createStream('skellam-moments', 'x'));
  const sd = Math.sqrt(2 * lambda);
  const z = mean(x) / (sd / Math.sqrt(n));
  t.true(Math.abs(z) < normalQuantile(1 - ALPHA / 2), `mean's z = ${z}`);
  // (n − 1)·s²/σ² ~ χ²(n − 1) for a normal; Skellam's excess kurtosis 1/(2λ) ≈ 4e-4 makes that exact enough here.
  const [lo, hi] = chiSquareInterval(ALPHA, n - 1);
  const stat = ((n - 1) * variance(x)) / (2 * lambda);
  t.true(stat > lo && stat < hi, `(n−1)s²/σ² = ${stat.toFixed(0)} not in [${lo.toFixed(0)}, ${hi.toFixed(0)}]`);
});

test('the same seed gives the same variates; another seed others', (t) => {
  const a = sampleSkellamVector(1000, 77.7, createStream(5, 'noise'));
  const b = sampleSkellamVector(1000, 77.7, createStream(5, 'noise'));
  const c = sampleSkellamVector(1000, 77.7, createStream(6, 'noise'));
  t.deepEqual([...a], [...b]);
  t.notDeepEqual([...a], [...c]);
});

test('λ = 0 draws nothing and gives zeros', (t) => {
  const rng = createStream(1, 'zero');
  t.deepEqual([...sampleSkellamVector(4, 0, rng)], [0, 0, 0, 0]);
  t.is(rng.next(), createStream(1, 'zero').next(), 'the stream was not advanced');
});

test('a mean that is negative, NaN or beyond 2^50 is refused, naming it', (t) => {
  for (const bad of [-1, Number.NaN, 2 ** 51, Infinity]) {
    const error = t.throws(() => samplePoisson(bad, createStream(1, 'bad')), { instanceOf: DpConfigError });
    t.regex(error!.message, /mean must be a number in \[0, 2\^50\]/);
  }
});
