/**
 * The pieces of client-level DP-FedAvg, each against what it must do: clipped updates stay
 * within C (also as float32 reports); the server's and the clients' noise has the stated
 * variance (seeded statistical tests with a stated false-alarm rate); adaptive clipping
 * moves C to the target quantile; uniform weighting gives every report weight 1 in the
 * clear and through a secure sum; the budget's arithmetic.
 */
import test from 'ava';
import fc from 'fast-check';
import { PrivacyAccountant } from '../src/dp/accounting/accountant.js';
import { addToWeights, clipUpdate, l2Norm, reportClipped, updateOf } from '../src/dp/clipping.js';
import { type ClipEstimate, nextClip } from '../src/dp/fedavg/adaptive-clip.js';
import { DP_FIT_FIELD, UNCLIPPED_METRIC, dpClientAlgorithm } from '../src/dp/fedavg/dp-client.js';
import { DpFedAvg } from '../src/dp/fedavg/dp-strategy.js';
import { poissonSample } from '../src/dp/fedavg/poisson-sampling.js';
import { DpSettingsSchema, type DpSettingsInput, updateNoiseMultiplier } from '../src/dp/fedavg/settings.js';
import { plainLocalTraining } from '../src/fl/algorithms/client-algorithm.js';
import type { FitIns, FitRes, ReportLayout } from '../src/fl/rounds/fit.js';
import { type RoundAggregate, meanOfReports, packReport, reportWeight, unpackSum } from '../src/fl/rounds/round-aggregate.js';
import { FedAvg } from '../src/fl/strategies/fedavg.js';
import { FedAvgM } from '../src/fl/strategies/fedavgm.js';
import { createStream } from '../src/runtime/rng.js';

// ── clipping ─────────────────────────────────────────────────────────────────

const layersArb = fc.array(fc.array(fc.float({ min: -1e3, max: 1e3, noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 4 });

test('clipping: the clipped update is within C, unchanged when already within, and the float32 report carries an update within C (fast-check)', (t) => {
  fc.assert(
    fc.property(layersArb, fc.double({ min: 1e-6, max: 1e3, noNaN: true }), fc.double({ min: 0, max: 1e3, noNaN: true }), (layers, clip, shift) => {
      const global = layers.map((l) => Float32Array.from(l));
      // Training moves each coordinate by something of the order of `shift`.
      const trained = global.map((g, i) => g.map((v, j) => v + (((i * 31 + j * 17) % 13) - 6) * shift));
      const { delta, norm, factor } = clipUpdate(global, trained, clip);
      const before = l2Norm(updateOf(global, trained));
      if (norm !== before) return false;
      if (l2Norm(delta) > clip * (1 + 1e-12)) return false;
      if (norm <= clip && factor !== 1) return false;
      // What the server rebuilds from the float32 report: never longer than C.
      const reported = reportClipped(global, delta, clip);
      return l2Norm(updateOf(global, reported)) <= clip;
    }),
    { seed: 15, numRuns: 400 },
  );
  t.pass();
});

test('clipping: float32 rounding alone would push the carried update past C; the report is shrunk back within it', (t) => {
  // Weights in [1024, 2048), whose float32 spacing is 2⁻¹³; a step of 0.6 spacings in every coordinate rounds up to a whole one.
  const ulp = 2 ** -13;
  const global = [Float32Array.from({ length: 64 }, (_, j) => 1024 + j)];
  const delta = [Float64Array.from({ length: 64 }, () => 0.6 * ulp)];
  const clip = l2Norm(delta);
  const naive = l2Norm(updateOf(global, addToWeights(global, delta)));
  t.true(naive > clip, `the naive float32 report carries ${naive} > C = ${clip}`);
  t.true(l2Norm(updateOf(global, reportClipped(global, delta, clip))) <= clip);
});

function fitIns(round: number, weights: Float32Array[], clip: number): FitIns {
  return { round, weights, config: { epochs: 1, batchSize: 1, lr: 0.1, [DP_FIT_FIELD]: { clip } } };
}

test('the DP client: reports w + clipped Δ (uniform weight, n_k and loss withheld), the bit ‖Δ‖ ≤ C, and refuses a fit without a clip', (t) => {
  const client = dpClientAlgorithm(plainLocalTraining, { mode: 'central', noiseMultiplier: 1, reportUnclipped: true });
  t.deepEqual(client.reports, { extras: [], metrics: [UNCLIPPED_METRIC], weighting: 'uniform', trainingStats: 'withheld' });
  const global = [Float32Array.of(1, 2), Float32Array.of(3)];
  const trained = [Float32Array.of(4, 6), Float32Array.of(3)]; // Δ = (3, 4, 0): norm 5
  const training = { weights: trained, numSamples: 7, loss: 0.5, steps: 3, lr: 0.1, stream: (name: string) => createStream(1, name) };
  const clipped = client.afterTraining!(fitIns(1, global, 1), training, undefined);
  t.deepEqual(clipped.weights!.map((w) => Array.from(w)), [[1 + 0.6, 2 + 0.8].map(Math.fround), [3]]);
  t.deepEqual(clipped.metrics, { [UNCLIPPED_METRIC]: 0 });
  const within = client.afterTraining!(fitIns(1, global, 10), training, undefined);
  t.deepEqual(within.weights!.map((w) => Array.from(w)), trained.map((w) => Array.from(w)));
  t.deepEqual(within.metrics, { [UNCLIPPED_METRIC]: 1 });
  const error = t.throws(() => client.afterTraining!({ round: 2, weights: global, config: { epochs: 1, batchSize: 1, lr: 0.1 } }, training, undefined));
  t.regex(error!.message, /FitIns\.config\.dp must be \{ clip: a finite number > 0 \}/);
});

// ── noise statistics ─────────────────────────────────────────────────────────

/**
 * Two-sided test that `residuals` are i.i.d. N(0, 1): the sum of squares against χ²_d
 * (Wilson–Hilferty: (X/d)^⅓ is nearly normal with mean 1 − 2/(9d), variance 2/(9d)) and the
 * sum against N(0, d). Each at false-alarm rate 1e-4 (|Z| < 3.89) — with a fixed seed the
 * outcome is fixed, and the rate says how unlucky that seed would have to be. With d = 20 000
 * a noise std 5% off gives Z ≈ 10: the test cannot miss it.
 */
function standardNormalZ(residuals: ArrayLike<number>): { variance: number; mean: number } {
  const d = residuals.length;
  let squares = 0;
  let sum = 0;
  for (let j = 0; j < d; j++) {
    squares += residuals[j] * residuals[j];
    sum += residuals[j];
  }
  const variance = (Math.cbrt(squares / d) - (1 - 2 / (9 * d))) / Math.sqrt(2 / (9 * d));
  return { variance, mean: sum / Math.sqrt(d) };
}
const Z_LIMIT = 3.89;

const settings = (input: Partial<DpSettingsInput>) => DpSettingsSchema.parse({ clip: 2, noiseMultiplier: 1.5, delta: 1e-5, ...input });

/** The strategy's step on a round whose m contributors reported no change, with a model of d zeros. */
function zeroUpdateStep(dp: DpFedAvg<undefined>, m: number, d: number, seed: number) {
  const weights = [new Float32Array(d)];
  const results: RoundAggregate = { round: 1, contributors: Array.from({ length: m }, (_, i) => `c${i}`), numSamples: 0, loss: 0, weights: [new Float64Array(d)], extras: {}, metrics: {} };
  return dp.aggregate(1, results, [], { rng: createStream(seed, 'aggregate/round-1'), state: dp.initialState(weights), weights, clients: [] });
}

test('central noise: a round of zero updates releases N(0, (z·C / q·N)²) per coordinate (χ² test, false-alarm rate 1e-4 per statistic)', (t) => {
  const d = 20_000;
  const dp = new DpFedAvg(new FedAvg({ fraction: 0.25 }), settings({}), 40);
  const step = zeroUpdateStep(dp, 9, d, 11);
  const std = (1.5 * 2) / (0.25 * 40); // z·C over the fixed denominator q·N
  const z = standardNormalZ(step.weights[0].map((v) => v / std));
  t.true(Math.abs(z.variance) < Z_LIMIT, `variance Z = ${z.variance}`);
  t.true(Math.abs(z.mean) < Z_LIMIT, `mean Z = ${z.mean}`);
  t.is((step.notes!.dp as { epsilon: number }).epsilon, new PrivacyAccountant().compose({ kind: 'poisson-sampled-gaussian', samplingRate: 0.25, noiseMultiplier: 1.5 }).epsilon(1e-5).epsilon);
});

test('the inner strategy steps on w + (m·(mean − w) + noise) / q·N, exactly (fedavgm: its momentum sees the privatised average)', (t) => {
  const inner = new FedAvgM({ fraction: 0.5, serverLr: 1, momentum: 0.9 });
  const dp = new DpFedAvg(inner, settings({ noiseMultiplier: 0.3 }), 12);
  const w = [Float32Array.of(0.5, -1, 2), Float32Array.of(0.25)];
  const mean = [Float64Array.of(0.7, -1.1, 2), Float64Array.of(0.2)]; // the uniform mean of m = 4 reports
  const m = 4;
  const results: RoundAggregate = { round: 1, contributors: ['a', 'b', 'c', 'd'], numSamples: 0, loss: 0, weights: mean, extras: {}, metrics: {} };
  const ctx = { rng: createStream(4, 'aggregate/round-1'), state: dp.initialState(w), weights: w, clients: [] };
  const step = dp.aggregate(1, results, [], ctx);
  const noise = createStream(4, 'aggregate/round-1');
  const privatised = mean.map((layer, l) => layer.map((v, j) => w[l][j] + (m * (v - w[l][j]) + noise.normal(0, 0.3 * 2)) / (0.5 * 12)));
  const expected = inner.aggregate(1, { ...results, weights: privatised, loss: NaN }, [], { ...ctx, rng: createStream(4, 'unused'), state: inner.initialState(w) });
  t.deepEqual(step.weights, expected.weights);
  t.deepEqual(step.state.inner, expected.state);
  t.is(step.state.clip, 2);
});

test('central noise under fixed-size sampling is divided by the round size m; under adaptive clipping its multiplier is z_Δ (χ² tests, rate 1e-4)', (t) => {
  const d = 20_000;
  const fixed = zeroUpdateStep(new DpFedAvg(new FedAvg({ fraction: 0.25 }), settings({ sampling: 'fixed' }), 40), 9, d, 12);
  const fz = standardNormalZ(fixed.weights[0].map((v) => v / ((1.5 * 2) / 9)));
  t.true(Math.abs(fz.variance) < Z_LIMIT && Math.abs(fz.mean) < Z_LIMIT, `fixed: ${JSON.stringify(fz)}`);
  const adaptive = new DpFedAvg(new FedAvg({ fraction: 0.25 }), settings({ adaptiveClip: { countStddev: 2 } }), 40);
  const zDelta = updateNoiseMultiplier(1.5, 2);
  t.true(zDelta > 1.5);
  t.is(adaptive.updateNoiseMultiplier, zDelta);
  const step = zeroUpdateStep(adaptive, 9, d, 13);
  const az = standardNormalZ(step.weights[0].map((v) => v / ((zDelta * 2) / 10)));
  t.true(Math.abs(az.variance) < Z_LIMIT && Math.abs(az.mean) < Z_LIMIT, `adaptive: ${JSON.stringify(az)}`);
  // The two releases together cost one Gaussian of multiplier z: z⁻² = z_Δ⁻² + (2σ_b)⁻².
  t.true(Math.abs(zDelta ** -2 + 4 ** -2 - 1.5 ** -2) < 1e-12);
});

test('local noise: each client adds N(0, (z·C)²) from its own stream dp/round-<r> (χ² test, rate 1e-4); the same round draws the same noise', (t) => {
  const d = 20_000;
  const client = dpClientAlgorithm(plainLocalTraining, { mode: 'local', noiseMultiplier: 0.7, reportUnclipped: false });
  const global = [new Float32Array(d).fill(0.25)];
  const streams: string[] = [];
  const training = { weights: global, numSamples: 3, loss: 1, steps: 1, lr: 0.1, stream: (name: string) => (streams.push(name), createStream(5, `actor/c1/${name}`)) };
  const report = client.afterTraining!(fitIns(4, global, 3), training, undefined);
  t.deepEqual(streams, ['dp/round-4']);
  const z = standardNormalZ(report.weights![0].map((v) => (v - 0.25) / (0.7 * 3)));
  t.true(Math.abs(z.variance) < Z_LIMIT && Math.abs(z.mean) < Z_LIMIT, JSON.stringify(z));
  const again = client.afterTraining!(fitIns(4, global, 3), training, undefined);
  t.deepEqual(again.weights, report.weights);
});

// ── adaptive clipping ────────────────────────────────────────────────────────

test('adaptive clipping moves C to the target quantile of a hand-made population of update norms', (t) => {
  // 1000 clients with norms 0.01, 0.02, …, 10: the γ-quantile is 10γ.
  const norms = Array.from({ length: 1000 }, (_, i) => (i + 1) / 100);
  for (const [gamma, start] of [[0.5, 0.1], [0.8, 9], [0.2, 3]]) {
    let estimate: ClipEstimate = { clip: start, targetQuantile: gamma, learningRate: 0.2, countStddev: 5 };
    const rng = createStream(21, `adaptive/${gamma}`);
    for (let round = 0; round < 300; round++) {
      const unclipped = norms.filter((n) => n <= estimate.clip).length;
      estimate = { ...estimate, clip: nextClip(estimate, unclipped, norms.length, norms.length, rng).clip };
    }
    t.true(Math.abs(estimate.clip - 10 * gamma) < 0.5, `γ = ${gamma}: C = ${estimate.clip}, the quantile is ${10 * gamma}`);
  }
});

test('adaptive clipping in the strategy: every update within C shrinks C, none grows it (the bit travels as the mean of dpUnclipped)', (t) => {
  const dp = new DpFedAvg(new FedAvg({ fraction: 1 }), settings({ clip: 1, noiseMultiplier: 0.5, adaptiveClip: { countStddev: 0.5, learningRate: 0.2, targetQuantile: 0.5 } }), 10);
  const weights = [new Float32Array(4)];
  const step = (unclippedMean: number) =>
    dp.aggregate(1, { round: 1, contributors: Array.from({ length: 10 }, (_, i) => `c${i}`), numSamples: 0, loss: 0, weights: [new Float64Array(4)], extras: {}, metrics: { [UNCLIPPED_METRIC]: unclippedMean } }, [], {
      rng: createStream(3, 'aggregate/round-1'),
      state: dp.initialState(weights),
      weights,
      clients: [],
    });
  const all = step(1).state.clip;
  const none = step(0).state.clip;
  t.true(all < 1 && none > 1, `all within: ${all}, none within: ${none}`);
  // b̄ is clamped to [0, 1]: C moves at most by exp(±η·max(γ, 1 − γ)).
  t.true(all >= Math.exp(-0.2 * 0.5) - 1e-12 && none <= Math.exp(0.2 * 0.5) + 1e-12);
});

// ── sampling ─────────────────────────────────────────────────────────────────

test('Poisson sampling: each client with probability q (binomial test, rate 1e-4), independent of the order of the ids, q = 1 takes everyone', (t) => {
  const clients = Array.from({ length: 50 }, (_, i) => `client-${String(i).padStart(2, '0')}`);
  let drawn = 0;
  const rounds = 400;
  for (let r = 1; r <= rounds; r++) drawn += poissonSample(clients, 0.1, createStream(8, `sampling/round-${r}`)).length;
  const n = clients.length * rounds;
  const z = (drawn - 0.1 * n) / Math.sqrt(n * 0.1 * 0.9);
  t.true(Math.abs(z) < Z_LIMIT, `${drawn} of ${n} drawn (z = ${z})`);
  t.deepEqual(poissonSample([...clients].reverse(), 0.3, createStream(8, 's')), poissonSample(clients, 0.3, createStream(8, 's')));
  t.deepEqual(poissonSample(clients, 1, createStream(8, 's')), clients);
});

// ── uniform weighting ────────────────────────────────────────────────────────

test('uniform weighting: every report weighs 1 in the clear and through a packed sum (which then carries no n_k)', (t) => {
  const uniform: ReportLayout = { extras: [], metrics: ['m'], weighting: 'uniform' };
  const bySamples: ReportLayout = { extras: [], metrics: ['m'] };
  const res = (w: number[], n: number, m: number): FitRes => ({ round: 1, weights: [Float32Array.from(w)], numSamples: n, loss: m, extras: {}, metrics: { m } });
  const reports = [
    { clientId: 'a', res: res([1, 2], 1, 1) },
    { clientId: 'b', res: res([3, 6], 9, 0) },
  ];
  t.is(reportWeight(reports[1].res, uniform), 1);
  t.is(reportWeight(reports[1].res, bySamples), 9);
  t.is(reportWeight(reports[1].res, bySamples, 10), 0.9);
  const clear = meanOfReports(1, reports, uniform, { individual: false });
  t.deepEqual(Array.from(clear.weights[0]), [2, 4]);
  t.is(clear.metrics.m, 0.5);
  t.deepEqual(Array.from(meanOfReports(1, reports, bySamples, { individual: false }).weights[0]), [2.8, 5.6]);
  const sum = packReport(reports[0].res, reportWeight(reports[0].res, uniform, 10), uniform).map((v, j) => v + packReport(reports[1].res, reportWeight(reports[1].res, uniform, 10), uniform)[j]);
  const unpacked = unpackSum(1, sum, ['a', 'b'], [{ length: 2 }], uniform, 10)!;
  t.deepEqual(Array.from(unpacked.aggregate.weights[0]), [2, 4]);
  t.is(unpacked.aggregate.numSamples, 0, 'the sum carries no n_k');
  t.is(unpacked.count, 2);
});
