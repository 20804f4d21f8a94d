/**
 * Distributed DP's encoding, piece by piece and end to end: the rotation, the ring, the
 * conditional rounding, and a client's encode against the server's decode.
 *
 * Statistical checks are at α = 1e-4 each (3 in this file: the family fails a correct
 * implementation with probability < 3e-4); the rest are exact.
 */
import test from 'ava';
import { decodeSum } from '../src/dp/distributed/decode.js';
import { encodeUpdate } from '../src/dp/distributed/encode.js';
import { planDistributedDp, type DistributedDpPlan } from '../src/dp/distributed/plan.js';
import { fromRingCentred, toRing } from '../src/dp/distributed/ring.js';
import { paddedDimension, rotate, rotationSigns, unrotate, walshHadamard } from '../src/dp/distributed/rotation.js';
import { MAX_ROUNDING_TRIES, conditionalRound, roundedNormBound } from '../src/dp/distributed/rounding.js';
import { DpConfigError } from '../src/dp/errors.js';
import { createStream } from '../src/runtime/rng.js';
import { normalQuantile } from './helpers/statistics.js';

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const vector = (length: number, seed: string, std = 1) => {
  const rng = createStream(seed, 'test/vector');
  return Float64Array.from({ length }, () => rng.normal(0, std));
};

test('the Walsh–Hadamard transform of a unit vector is its row of ±1; twice it is d times the identity', (t) => {
  const e2 = new Float64Array(8);
  e2[2] = 1;
  t.deepEqual([...walshHadamard(Float64Array.from(e2))], [1, 1, -1, -1, 1, 1, -1, -1]);
  const x = vector(16, 'wht');
  t.true(maxDiff(walshHadamard(walshHadamard(Float64Array.from(x))).map((v) => v / 16), x) < 1e-12);
});

test('rotation pads to a power of 2, keeps the norm, flattens a spike, and unrotates back', (t) => {
  t.deepEqual([1, 2, 3, 5, 8, 9, 1000].map(paddedDimension), [1, 2, 4, 8, 8, 16, 1024]);
  const x = vector(37, 'rotate');
  const signs = rotationSigns('round-seed', paddedDimension(x.length));
  const y = rotate(x, signs);
  t.is(y.length, 64);
  t.true(Math.abs(norm(y) - norm(x)) < 1e-12 * norm(x));
  t.true(maxDiff(unrotate(y, signs, 37), x) < 1e-12);
  // All the mass on one coordinate comes out spread evenly: |y_j| = 1/√d everywhere.
  const spike = new Float64Array(64);
  spike[5] = 1;
  t.true(rotate(spike, signs).every((v) => Math.abs(Math.abs(v) - 1 / 8) < 1e-15));
  t.deepEqual([...rotationSigns('round-seed', 64)], [...signs], 'the same seed gives every party the same signs');
  t.notDeepEqual([...rotationSigns('other-seed', 64)], [...signs]);
});

test('the ring: two\'s complement in, centred out, exact for sums inside [−m/2, m/2), wrapping outside', (t) => {
  const values = [0, 1, -1, 127, -128, 5, -77];
  t.deepEqual([...toRing(values, 8)], [0, 1, 255, 127, 128, 5, 179]);
  t.deepEqual([...fromRingCentred(toRing(values, 8), 8)], values);
  // A sum of encodings mod m, read back centred, is the sum — while it fits.
  const a = toRing([100, -100, 60, 100], 8);
  const b = toRing([27, -28, 60, 60], 8);
  const sum = Uint32Array.from(a, (v, i) => (v + b[i]) % 256);
  t.deepEqual([...fromRingCentred(sum, 8)], [127, -128, 120, 160 - 256], '100 + 60 = 160 is past the top of the 8-bit range [−128, 128) and wraps');
  t.deepEqual([...fromRingCentred(toRing([2 ** 31 - 1, -(2 ** 31)], 32), 32)], [2 ** 31 - 1, -(2 ** 31)]);
  t.throws(() => toRing([1.5], 8), { instanceOf: DpConfigError, message: /not an exact integer/ });
  t.throws(() => toRing([1], 33), { instanceOf: DpConfigError, message: /bits must be an integer in \[2, 32\]/ });
});

/** Rounds x `trials` times; returns the mean rounded vector, the draws made in all, and fails the test on a norm above the bound. */
function roundMany(t: import('ava').ExecutionContext, x: Float64Array, bound: number, trials: number, seed: string) {
  const rng = createStream('rounding', seed);
  const sums = new Float64Array(x.length);
  let draws = 0;
  for (let k = 0; k < trials; k++) {
    const r = conditionalRound(x, bound, rng);
    if (!r.values.every(Number.isInteger)) t.fail('a rounded value is not an integer');
    if (!(norm(r.values) <= bound)) t.fail(`norm ${norm(r.values)} > bound ${bound}`);
    draws += r.tries;
    r.values.forEach((v, i) => (sums[i] += v));
  }
  return { means: sums.map((s) => s / trials), draws };
}

test('stochastic rounding (β = 0): integers, norm within c + √d, one draw, unbiased per coordinate (z-test, α = 1e-4)', (t) => {
  const d = 64;
  const x = vector(d, 'round', 3);
  const bound = roundedNormBound(norm(x), d, 0);
  const trials = 20_000;
  const { means, draws } = roundMany(t, x, bound, trials, 'plain');
  t.is(draws, trials, 'c + √d is never exceeded: never a second draw');
  // Per coordinate the error is Bernoulli(frac) − frac, variance ≤ 1/4; the worst of d coordinates, Bonferroni.
  const worst = Math.max(...Array.from(means, (m, i) => Math.abs(m - x[i]) / Math.sqrt(0.25 / trials)));
  t.true(worst < normalQuantile(1 - 1e-4 / (2 * d)), `largest |z| ${worst.toFixed(2)}`);
});

test('conditional rounding (β = e^(−1/2)): norm within the tighter bound; its bias per coordinate is at most p/(1 − p), p the chance a draw is rejected (α = 1e-4)', (t) => {
  const d = 64;
  const x = vector(d, 'round', 3);
  const bound = roundedNormBound(norm(x), d, Math.exp(-0.5));
  t.true(bound < roundedNormBound(norm(x), d, 0));
  const trials = 20_000;
  const { means, draws } = roundMany(t, x, bound, trials, 'conditional');
  const rejected = (draws - trials) / draws;
  t.true(rejected > 0.01, `this regime (c ≈ 3√d) rejects some draws: ${rejected}`);
  t.true(rejected <= Math.exp(-0.5), 'at most β of the draws are rejected (the bound\'s promise)');
  // E[R | accepted] − x = E[(x − R)·1{rejected}] / P(accepted), each |x − R| < 1: |bias| ≤ p / (1 − p). Add the sampling error.
  const biasBound = rejected / (1 - rejected);
  const slack = normalQuantile(1 - 1e-4 / (2 * d)) * Math.sqrt(0.25 / trials);
  const worst = Math.max(...Array.from(means, (m, i) => Math.abs(m - x[i])));
  t.true(worst <= biasBound + slack, `largest bias ${worst.toFixed(4)} > ${biasBound.toFixed(4)} + ${slack.toFixed(4)}`);
});

test('conditional rounding re-draws until the bound holds, and falls back to rounding toward zero when it never does', (t) => {
  // Every coordinate at 0.5: a plain stochastic rounding has norm² ~ Binomial(d, ½); the bound √(d/4·…) is crossed often.
  const d = 16;
  const x = new Float64Array(d).fill(0.5);
  const tight = norm(x) * 1.0000001; // a bound just above ‖x‖ = 2: only vectors with ≤ 4 ones pass
  const r = conditionalRound(x, tight, createStream('tight', 'x'));
  t.true(norm(r.values) <= tight);
  t.true(r.tries > 1, `needed ${r.tries} draws`);
  // A bound below any non-zero rounding: only the fallback (toward zero: all 0) meets it.
  const fallback = conditionalRound(Float64Array.from({ length: d }, () => 0.9), 1, createStream('fallback', 'x'));
  t.true(fallback.fellBack);
  t.is(fallback.tries, MAX_ROUNDING_TRIES);
  t.deepEqual([...fallback.values], new Array(d).fill(0));
  t.throws(() => conditionalRound(Float64Array.from([5, 5]), 1, createStream('bad', 'x')), { instanceOf: DpConfigError, message: /not below the rounding bound/ });
});

test('the rounded-norm bound is min(c + √d, √(c² + d/4 + √(2 ln 1/β)(c + √d/2))) (hand values)', (t) => {
  t.is(roundedNormBound(10, 100, 0), 20);
  // β = e^(−1/2): √(2 ln(1/β)) = 1, so B² = 100 + 25 + 10 + 5 = 140.
  t.true(Math.abs(roundedNormBound(10, 100, Math.exp(-0.5)) - Math.sqrt(140)) < 1e-12);
  // A tiny β makes the second form the larger: c + √d is the bound then.
  t.true(Math.abs(roundedNormBound(0.1, 4, 1e-10) - 2.1) < 1e-12);
  t.true(Math.abs(roundedNormBound(0.1, 10_000, 0.5) - Math.sqrt(0.01 + 2500 + Math.sqrt(2 * Math.log(2)) * 50.1)) < 1e-9);
  t.throws(() => roundedNormBound(1, 4, 1), { instanceOf: DpConfigError, message: /beta must be in \[0, 1\)/ });
});

function plan(overrides: Partial<{ bits: number; scale: number | 'auto'; length: number; participants: number }> = {}): DistributedDpPlan {
  return planDistributedDp(
    { bits: overrides.bits ?? 32, scale: overrides.scale ?? 'auto' },
    { clip: 1, noiseMultiplier: 0.5, length: overrides.length ?? 10, maxParticipants: overrides.participants ?? 8, rounds: 10 },
  );
}

test('encode → sum mod m → decode gives the sum of the clipped updates plus noise of variance (z·C)² per coordinate (χ² interval, α = 1e-4)', (t) => {
  const p = plan({ length: 10, participants: 4 });
  const updates = [vector(10, 'u0', 0.2), vector(10, 'u1', 0.2), vector(10, 'u2', 5), vector(10, 'u3', 0.2)]; // u2 has norm > C = 1: clipped
  const clippedSum = new Float64Array(10);
  for (const u of updates) {
    const f = Math.min(1, p.clip / norm(u));
    u.forEach((v, i) => (clippedSum[i] += v * f));
  }
  const trials = 400;
  let squares = 0;
  for (let k = 0; k < trials; k++) {
    const seed = `round-${k}`;
    const sum = new Uint32Array(p.dimension);
    updates.forEach((u, c) => {
      const encoded = encodeUpdate(u, p, { rotationSeed: seed, participants: 4 }, { rounding: createStream(seed, `c${c}/r`), noise: createStream(seed, `c${c}/n`) });
      t.is(encoded.clipped, c === 2);
      encoded.ring.forEach((v, i) => (sum[i] = (sum[i] + v) % p.modulus));
    });
    const decoded = decodeSum(sum, p, seed);
    decoded.forEach((v, i) => (squares += (v - clippedSum[i]) ** 2));
  }
  // Σ (decoded − clipped sum)² / σ² over trials × 10 coordinates is χ²(4000) (the noise is Skellam of huge variance: Gaussian to 1e-7, and independent across coordinates).
  const sigma2 = (p.noiseMultiplier * p.clip) ** 2;
  const stat = squares / sigma2;
  const df = trials * 10;
  const z = (stat - df) / Math.sqrt(2 * df);
  t.true(Math.abs(z) < normalQuantile(1 - 1e-4 / 2), `χ² ${stat.toFixed(0)} on ${df} df (z ${z.toFixed(2)})`);
});

test('decode inverts the deterministic part of the encoding: centred reading, un-rotation, division by s', (t) => {
  const p = plan({ bits: 20, length: 10 });
  const x = vector(10, 'decode', 0.1);
  const seed = 'decode-round';
  // What n = 3 clients with update x would sum without noise: 3·round(rotate(x·s)), in two's complement.
  const rotated = rotate(x.map((v) => v * p.scale), rotationSigns(seed, p.dimension));
  const sum = toRing(rotated.map((v) => 3 * Math.round(v)), p.bits);
  const decoded = decodeSum(sum, p, seed);
  // Rounding moves each rotated coordinate by ≤ ½, so the decoded vector is within 3·½·√d/s (in L2) of 3x.
  const error = norm(decoded.map((v, i) => v - 3 * x[i]));
  t.true(error <= (1.5 * Math.sqrt(p.dimension)) / p.scale, `‖decoded − 3x‖ = ${error}`);
  t.true(error > 0, 'the grid is finite');
  t.throws(() => decodeSum(new Uint32Array(3), p, seed), { instanceOf: DpConfigError, message: /has 3 values, the plan's rotated dimension is 16/ });
});

test('encode refuses an update of the wrong length or with NaN, and a round with more participants than planned', (t) => {
  const p = plan({ length: 10, participants: 4 });
  const streams = { rounding: createStream(1, 'r'), noise: createStream(1, 'n') };
  t.throws(() => encodeUpdate(new Float64Array(9), p, { rotationSeed: 's', participants: 2 }, streams), { instanceOf: DpConfigError, message: /has 9 values, the plan 10/ });
  const nan = new Float64Array(10);
  nan[3] = Number.NaN;
  t.throws(() => encodeUpdate(nan, p, { rotationSeed: 's', participants: 2 }, streams), { instanceOf: DpConfigError, message: /value 3 is NaN/ });
  t.throws(() => encodeUpdate(new Float64Array(10), p, { rotationSeed: 's', participants: 5 }, streams), { instanceOf: DpConfigError, message: /5 participants is outside the plan's 1…4/ });
});

test('the same seeds give the same encoding, byte for byte', (t) => {
  const p = plan();
  const u = vector(10, 'same', 0.1);
  const encode = () => encodeUpdate(u, p, { rotationSeed: 'r7', participants: 3 }, { rounding: createStream(9, 'r'), noise: createStream(9, 'n') }).ring;
  t.deepEqual([...encode()], [...encode()]);
});
