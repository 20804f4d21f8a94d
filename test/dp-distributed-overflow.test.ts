/**
 * The overflow bound (src/dp/distributed/overflow.ts) and the plan's refusals of settings
 * whose sums could wrap (plan.ts).
 *
 * Two statistical checks (α = 1e-4 each): the bound is compared with the overflow frequency
 * of the real pipeline in settings built to overflow often.
 */
import test from 'ava';
import { logOverflowBound, overflowBound, type OverflowSetting } from '../src/dp/distributed/overflow.js';
import { DistributedDpSettingsSchema, parseDistributedDpSettings, planDistributedDp, shareMean } from '../src/dp/distributed/plan.js';
import { sampleSkellamVector } from '../src/dp/distributed/poisson.js';
import { rotate, rotationSigns } from '../src/dp/distributed/rotation.js';
import { conditionalRound, roundedNormBound } from '../src/dp/distributed/rounding.js';
import { DpConfigError } from '../src/dp/errors.js';
import { createStream } from '../src/runtime/rng.js';
import { normalQuantile } from './helpers/statistics.js';

const base: OverflowSetting = { bits: 16, scaledClip: 1000, dimension: 1024, participants: 50, noiseVariance: 1e6, rounds: 100 };

test('the bound grows with participants, rounds, noise and clip, and falls with bits', (t) => {
  const p = (change: Partial<OverflowSetting>) => logOverflowBound({ ...base, ...change });
  const at = p({});
  t.true(at < 0 && at > -200, `a middling setting: ln p = ${at}`);
  t.true(p({ participants: 100 }) > at);
  t.true(p({ rounds: 1000 }) > at);
  t.true(Math.abs(p({ rounds: 1000 }) - at - Math.log(10)) < 1e-9, 'a union over rounds: ×10 rounds is +ln 10');
  t.true(p({ noiseVariance: 4e6 }) > at);
  t.true(p({ scaledClip: 2000 }) > at);
  t.true(p({ bits: 17 }) < at);
  t.is(logOverflowBound({ ...base, bits: 6, participants: 40 }), 0, 'the rounding errors of 40 clients alone can reach 2^6/2: no bound below 1');
});

test('with no rotated signal the bound is Chernoff\'s for Skellam alone; it is above the exact Skellam tail', (t) => {
  // σ² = (n·c)²/d → 0 with c → 0: the bound is 2·d·R·min_θ exp(−θt + V(cosh θ − 1)), t = m/2 − 1 − n.
  const setting = { bits: 8, scaledClip: 1e-9, dimension: 1, participants: 1, noiseVariance: 400, rounds: 1 };
  const t0 = 128 - 1 - 1;
  const theta = Math.asinh(t0 / 400);
  t.true(Math.abs(logOverflowBound(setting) - (Math.log(2) + -theta * t0 + 400 * (Math.cosh(theta) - 1))) < 1e-6);
  // The exact two-sided tail of Sk(200, 200) beyond 126, from its pmf Σ_k P(X = k)P(Y = k + j) — well below the bound.
  const pois = (k: number) => Math.exp(k * Math.log(200) - 200 - lnFact(k));
  let tail = 0;
  for (let j = 127; j < 400; j++) for (let k = 0; k < 600; k++) tail += 2 * pois(k) * pois(k + j);
  t.true(tail < overflowBound(setting), `exact tail ${tail} vs bound ${overflowBound(setting)}`);
  t.true(tail > overflowBound(setting) / 100, 'and not absurdly far below it');
});

function lnFact(k: number): number {
  let s = 0;
  for (let j = 2; j <= k; j++) s += Math.log(j);
  return s;
}

/**
 * Runs the real pipeline `trials` times (fresh rotation each round) with every client sending
 * the same update x of norm C = 1 (‖Σ‖ = n·C, the bound's worst case); returns the bound and
 * the fraction of rounds in which some coordinate's sum left [−m/2, m/2).
 */
function observedOverflow(x: Float64Array, scale: number, z: number, trials: number) {
  const bits = 8;
  const n = 4;
  const d = x.length;
  const c = scale;
  const variance = (z * c) ** 2;
  const bound = overflowBound({ bits, scaledClip: c, dimension: d, participants: n, noiseVariance: variance, rounds: 1 });
  const l2 = roundedNormBound(c, d, Math.exp(-0.5));
  const lambda = shareMean({ noiseVariance: variance, maxParticipants: n }, n);
  let overflowed = 0;
  for (let k = 0; k < trials; k++) {
    const signs = rotationSigns(`trial-${k}`, d);
    const sum = new Float64Array(d);
    for (let client = 0; client < n; client++) {
      const rounded = conditionalRound(rotate(x.map((v) => v * scale), signs), l2, createStream(k, `c${client}/round`)).values;
      const noise = sampleSkellamVector(d, lambda, createStream(k, `c${client}/noise`));
      rounded.forEach((v, i) => (sum[i] += v + noise[i]));
    }
    if (sum.some((v) => v < -(2 ** (bits - 1)) || v >= 2 ** (bits - 1))) overflowed++;
  }
  return { bound, frequency: overflowed / trials };
}

// Two regimes, each built to overflow often enough to count: noise-dominated (z = 2) and signal-dominated (z = 0.3,
// the update spread evenly so that its rotated coordinates are Rademacher sums with the heaviest tail).
for (const [regime, x, scale, z] of [
  ['noise', Float64Array.from({ length: 16 }, (_, i) => (i === 3 ? 1 : 0)), 15, 2],
  ['signal', new Float64Array(16).fill(1 / 4), 40, 0.3],
] as const) {
  test(`the bound holds for the real pipeline (${regime} dominates): 8 bits, 4 clients, aligned norm-C updates overflow no more often than it says (α = 1e-4)`, (t) => {
    const trials = 4000;
    const { bound, frequency } = observedOverflow(x, scale, z, trials);
    t.true(bound > 1e-3 && bound < 0.5, `the setting is in the counting range: ${bound}`);
    t.true(frequency > 0, 'the setting does overflow sometimes');
    const slack = normalQuantile(1 - 1e-4) * Math.sqrt((bound * (1 - bound)) / trials);
    t.true(frequency <= bound + slack, `observed ${frequency} > bound ${bound} + ${slack}`);
    t.log(`overflow (${regime}): observed ${frequency} in ${trials} rounds, bound ${bound.toPrecision(3)}`);
  });
}

test('auto scale is the largest (to 3 digits) that keeps the run\'s bound under overflowProbability', (t) => {
  const run = { clip: 0.5, noiseMultiplier: 1.2, length: 5000, maxParticipants: 30, rounds: 200 };
  const plan = planDistributedDp({ bits: 16 }, run);
  t.true(plan.logOverflowBound <= Math.log(1e-6));
  const bound = (scale: number) =>
    logOverflowBound({ bits: 16, scaledClip: run.clip * scale, dimension: plan.dimension, participants: 30, noiseVariance: (run.noiseMultiplier * run.clip * scale) ** 2, rounds: 200 });
  t.true(bound(plan.scale * 1.01) > Math.log(1e-6), 'one percent more scale would break the bound');
  t.is(Number(plan.scale.toPrecision(3)), plan.scale);
  t.is(plan.dimension, 8192);
  t.is(plan.noiseVariance, (1.2 * 0.5 * plan.scale) ** 2);
  t.is(plan.l2, roundedNormBound(0.5 * plan.scale, 8192, Math.exp(-0.5)));
  t.is(plan.l1, plan.l2 * Math.min(Math.sqrt(8192), plan.l2));
  // More bits, more scale; a looser threshold, more scale.
  t.true(planDistributedDp({ bits: 20 }, run).scale > plan.scale * 10);
  t.true(planDistributedDp({ bits: 16, overflowProbability: 1e-3 }, run).scale > plan.scale);
});

test('an explicit scale whose overflow bound is above the threshold is refused, naming the largest that fits', (t) => {
  const run = { clip: 1, noiseMultiplier: 1, length: 1000, maxParticipants: 100, rounds: 100 };
  const largest = planDistributedDp({ bits: 16 }, run).scale;
  t.is(planDistributedDp({ bits: 16, scale: largest / 2 }, run).scale, largest / 2);
  const error = t.throws(() => planDistributedDp({ bits: 16, scale: largest * 3 }, run), { instanceOf: DpConfigError });
  t.regex(error!.message, /^dp\.distributed\.scale: with scale \d+ the sum of up to 100 clients a round over 100 round\(s\), 1000 values \(rotated to 1024\) leaves Z_2\^16 with probability up to [\d.e-]+, above overflowProbability 0\.000001; use scale ≤ \d+ \(or 'auto'\), or raise bits/);
  t.true(error!.message.includes(`scale ≤ ${largest}`));
  t.is((error as DpConfigError).where.field, 'dp.distributed.scale');
});

test('bits too few for the clients per round are refused, naming bits', (t) => {
  const error = t.throws(() => planDistributedDp({ bits: 6 }, { clip: 1, noiseMultiplier: 1, length: 10, maxParticipants: 40, rounds: 1 }), { instanceOf: DpConfigError });
  t.regex(error!.message, /^dp\.distributed\.bits: no scale keeps the sum in Z_2\^6 .* \(the clients' rounding errors alone can reach 40\); raise bits \(at most 32\) or lower the clients per round\./);
});

test('settings: defaults, and each bad field refused with its name', (t) => {
  t.deepEqual(parseDistributedDpSettings(undefined), { mechanism: 'skellam', bits: 32, scale: 'auto', beta: Math.exp(-0.5), overflowProbability: 1e-6 });
  t.deepEqual(DistributedDpSettingsSchema.parse({ bits: 20, scale: 300 }).scale, 300);
  const refused = (input: unknown, pattern: RegExp) => t.throws(() => parseDistributedDpSettings(input), { instanceOf: DpConfigError, message: pattern });
  refused({ mechanism: 'ddg' }, /^dp\.distributed\.mechanism: only 'skellam' is built/);
  refused({ bits: 33 }, /^dp\.distributed\.bits: at most 32: SecAgg\+ masks uint32 vectors/);
  refused({ bits: 12.5 }, /^dp\.distributed\.bits:/);
  refused({ scale: -1 }, /^dp\.distributed\.scale:/);
  refused({ scale: 'big' }, /^dp\.distributed\.scale:/);
  refused({ beta: 1 }, /^dp\.distributed\.beta: beta must be below 1/);
  refused({ overflowProbability: 0 }, /^dp\.distributed\.overflowProbability:/);
  refused({ bitz: 16 }, /^dp\.distributed\.\(top level\): .*bitz/);
  t.throws(() => planDistributedDp({}, { clip: 0, noiseMultiplier: 1, length: 10, maxParticipants: 4, rounds: 1 }), { instanceOf: DpConfigError, message: /clip must be a finite number > 0, got 0/ });
  t.throws(() => planDistributedDp({}, { clip: 1, noiseMultiplier: 1, length: 10, maxParticipants: 4.5, rounds: 1 }), { instanceOf: DpConfigError, message: /maxParticipants must be a positive integer, got 4\.5/ });
});
