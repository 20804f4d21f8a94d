/**
 * Distributed DP inside SecAgg+: clients encode (clip, scale, rotate, round, add their noise
 * share, reduce mod 2^bits) and hand the ring vector to SecAgg+'s masking (encoding 'ring');
 * the server unmasks the sum and decodes it. And the claim that matters: the aggregate has
 * the distribution central DP's has.
 *
 * Statistical checks: the distribution test makes 3 checks per coordinate on 4 coordinates,
 * each at α = 1e-4 / 4 (Bonferroni per family): a correct implementation fails it with
 * probability < 3e-4. Everything else here is exact.
 */
import test from 'ava';
import { decodeSum } from '../src/dp/distributed/decode.js';
import { encodeStreams, encodeUpdate } from '../src/dp/distributed/encode.js';
import { type DistributedDpPlan, planDistributedDp } from '../src/dp/distributed/plan.js';
import { fromRingCentred } from '../src/dp/distributed/ring.js';
import { distributedRoundPrivacy } from '../src/dp/distributed/round-privacy.js';
import { SECAGG_STAGES, type SecAggStage, type UpdateSource, runSecAggPlus } from '../src/fl/secure/secagg/index.js';
import { SimulationCore, createStream, type FaultPlanInput } from '../src/runtime/index.js';
import { clientIds, sumMod } from './helpers/secagg.js';
import { chiSquareInterval, ksCritical, ksStatistic, mean, normalQuantile, variance } from './helpers/statistics.js';

type Crash = FaultPlanInput extends { crashes?: Array<infer C> } ? C : never;
const dropAt = (actor: string, stage: SecAggStage): Crash => (SECAGG_STAGES.indexOf(stage) === 0 ? { actor, at: 0 } : { actor, afterMessages: SECAGG_STAGES.indexOf(stage) });

const LENGTH = 20;
const ROTATION_SEED = 'round-0-rotation';

function updates(n: number): Record<string, Float64Array> {
  const rng = createStream('dp-secagg', 'updates');
  const out: Record<string, Float64Array> = {};
  // Norms around 1 (C = 1): some clipped, some not.
  for (const id of clientIds(n)) out[id] = Float64Array.from({ length: LENGTH }, () => rng.normal(0, 0.3));
  return out;
}

/** The update source of a distributed-DP client: encode at collect, with the round's participant count and the client's derived streams. */
function dpSource(update: Float64Array, plan: DistributedDpPlan): UpdateSource {
  return (round, { config, stream }) => {
    const names = encodeStreams(round);
    return encodeUpdate(update, plan, { rotationSeed: ROTATION_SEED, participants: config.sampleSize }, { rounding: stream(names.rounding), noise: stream(names.noise) }).ring;
  };
}

/** What client `id` handed SecAgg+ in round 0 of a run with `seed`, recomputed from the same named streams. */
function encodedBy(seed: number, id: string, update: Float64Array, plan: DistributedDpPlan, participants: number): Uint32Array {
  const names = encodeStreams(0);
  return encodeUpdate(update, plan, { rotationSeed: ROTATION_SEED, participants }, { rounding: createStream(seed, `actor/${id}/${names.rounding}`), noise: createStream(seed, `actor/${id}/${names.noise}`) }).ring;
}

async function run(n: number, crashes: Crash[] = [], seed = 11) {
  const plan = planDistributedDp({ bits: 32 }, { clip: 1, noiseMultiplier: 1, length: LENGTH, maxParticipants: n, rounds: 1 });
  const inputs = updates(n);
  const sim = new SimulationCore({ seed, faults: { crashes } });
  const clients = Object.fromEntries(Object.entries(inputs).map(([id, u]) => [id, dpSource(u, plan)]));
  const result = await runSecAggPlus(sim, {
    clients,
    vectorLength: plan.dimension,
    params: { numShares: n, reconstructionThreshold: Math.floor(n / 2) + 1, encoding: 'ring', modulusRange: plan.modulus, timeout: 5_000 },
  });
  return { plan, inputs, result, seed };
}

test('a SecAgg+ round of ring inputs: the unmasked sum is exactly Σ of the clients\' encodings mod 2^32, and decodes to Σ clipped + noise', async (t) => {
  const n = 5;
  const { plan, inputs, result, seed } = await run(n);
  t.is(result.config.encoding, 'ring');
  t.deepEqual(result.survivors, clientIds(n));
  const encodings = clientIds(n).map((id) => encodedBy(seed, id, inputs[id], plan, n));
  t.deepEqual([...result.quantizedSum], [...sumMod(encodings, plan.modulus)], 'exact');
  t.deepEqual([...result.sum], [...Float32Array.from(fromRingCentred(result.quantizedSum, plan.bits))], 'the result\'s sum is the centred reading');
  // The decoded sum is Σ clip(u) plus noise of std z·C = 1 per coordinate: every coordinate within 5 std (a sanity bound, not a test of the law).
  const decoded = decodeSum(result.quantizedSum, plan, ROTATION_SEED);
  const clipped = new Float64Array(LENGTH);
  for (const u of Object.values(inputs)) {
    const norm = Math.sqrt(u.reduce((s, v) => s + v * v, 0));
    u.forEach((v, i) => (clipped[i] += v * Math.min(1, 1 / norm)));
  }
  t.true(decoded.every((v, i) => Math.abs(v - clipped[i]) < 5), 'within 5 noise std of the clipped sum');
  t.false(decoded.every((v, i) => Math.abs(v - clipped[i]) < 1e-3), 'and noised');
});

for (const stage of ['setup', 'share-keys', 'collect-masked-input'] as const) {
  test(`a client dropping at ${stage} takes its noise share with it: the survivors' sum decodes exactly, and the round is accounted at V·n_s/n without amplification`, async (t) => {
    const n = 7;
    const { plan, inputs, result, seed } = await run(n, [dropAt('c3', stage), dropAt('c5', stage)]);
    const survivors = clientIds(n).filter((id) => id !== 'c3' && id !== 'c5');
    t.deepEqual(result.survivors, survivors);
    // Each survivor drew its share for n = 7 participants (it could not know who would drop).
    const encodings = survivors.map((id) => encodedBy(seed, id, inputs[id], plan, n));
    t.deepEqual([...result.quantizedSum], [...sumMod(encodings, plan.modulus)]);
    const privacy = distributedRoundPrivacy(plan, { participants: result.config.sampleSize, survivors: result.survivors.length, samplingRate: 0.1 });
    t.is(privacy.variance, (plan.noiseVariance * 5) / 7);
    t.false(privacy.amplified);
  });
}

test('a client lost after sending its masked input is still in the sum, with its share: full noise', async (t) => {
  const n = 5;
  const { plan, inputs, result, seed } = await run(n, [dropAt('c1', 'unmask')]);
  t.deepEqual(result.survivors, clientIds(n));
  t.deepEqual([...result.quantizedSum], [...sumMod(clientIds(n).map((id) => encodedBy(seed, id, inputs[id], plan, n)), plan.modulus)]);
  t.is(distributedRoundPrivacy(plan, { participants: n, survivors: result.survivors.length, samplingRate: 0.1 }).variance, plan.noiseVariance);
});

test('a float update in a ring round, or a ring vector in a quantised round, is refused by the client (it sits the round out)', async (t) => {
  const floats = Object.fromEntries(clientIds(3).map((id) => [id, new Float64Array(8)]));
  const ring = await runSecAggPlus(new SimulationCore({ seed: 1 }), {
    clients: { ...floats, c2: new Uint32Array(8) },
    params: { numShares: 3, reconstructionThreshold: 2, encoding: 'ring', timeout: 1_000 },
  }).catch((error: Error) => error);
  t.true(ring instanceof Error, 'two of three clients refuse: below the threshold');
  t.regex(String((ring as Error).message), /the round uses the 'ring' encoding, which takes a Uint32Array/);
  const quantized = await runSecAggPlus(new SimulationCore({ seed: 1 }), {
    clients: { c0: new Float64Array(8), c1: new Float64Array(8), c2: new Uint32Array(8) },
    params: { numShares: 3, reconstructionThreshold: 2, timeout: 1_000 },
  });
  t.deepEqual(quantized.survivors, ['c0', 'c1']);
  t.regex(quantized.failures[0].error, /the update is a Uint32Array \(a ring-encoded vector\), but the round quantises float vectors/);
  const overflowing = await runSecAggPlus(new SimulationCore({ seed: 1 }), {
    clients: { c0: new Uint32Array(4), c1: new Uint32Array(4), c2: Uint32Array.from([0, 0, 300, 0]) },
    params: { numShares: 3, reconstructionThreshold: 2, encoding: 'ring', modulusRange: 256, timeout: 1_000 },
  });
  t.regex(overflowing.failures[0].error, /holds a value not below the modulus 256/);
  // The refusal reaches the server: it names neither the value nor its position.
  t.notRegex(overflowing.failures[0].error, /300|index/);
});

/**
 * The key property: for the same clipped inputs, the aggregate distributed DP releases has the
 * distribution of central DP's Σ clip(u_i) + N(0, (z·C)²) per coordinate — up to the quantisation
 * bias and the (here negligible) rounding variance. SecAgg+ computes Σ encodings mod m exactly
 * (tests above), so the many trials sum the encodings directly.
 */
test('distributed DP\'s aggregate equals central DP\'s in distribution: KS, variance and mean per coordinate (false-alarm rate < 3e-4)', (t) => {
  const n = 6;
  const length = 4;
  const trials = 3000;
  const z = 1.3;
  const clip = 0.8;
  const plan = planDistributedDp({ bits: 16 }, { clip, noiseMultiplier: z, length, maxParticipants: n, rounds: trials });
  const rng = createStream('dp-vs-central', 'inputs');
  // Fixed inputs: half of them beyond the clip norm.
  const inputs = Array.from({ length: n }, (_, i) => Float64Array.from({ length }, () => rng.normal(0, i % 2 === 0 ? 0.2 : 2)));
  const clippedSum = new Float64Array(length);
  for (const u of inputs) {
    const norm = Math.sqrt(u.reduce((s, v) => s + v * v, 0));
    u.forEach((v, i) => (clippedSum[i] += v * Math.min(1, clip / norm)));
  }
  const distributed = Array.from({ length }, () => new Float64Array(trials));
  const central = Array.from({ length }, () => new Float64Array(trials));
  const gaussian = createStream('dp-vs-central', 'central-noise');
  for (let k = 0; k < trials; k++) {
    const seed = `trial-${k}`;
    const sum = new Uint32Array(plan.dimension);
    inputs.forEach((u, c) => {
      const { ring } = encodeUpdate(u, plan, { rotationSeed: seed, participants: n }, { rounding: createStream(seed, `c${c}/rounding`), noise: createStream(seed, `c${c}/noise`) });
      ring.forEach((v, i) => (sum[i] = (sum[i] + v) % plan.modulus));
    });
    const decoded = decodeSum(sum, plan, seed);
    for (let j = 0; j < length; j++) {
      distributed[j][k] = decoded[j];
      central[j][k] = clippedSum[j] + gaussian.normal(0, z * clip);
    }
  }
  const alpha = 1e-4 / length;
  const sigma2 = (z * clip) ** 2;
  // Quantisation bias: at most β/(1 − β) per rotated coordinate per client (conditional rounding), in the update's units n·√d·β/(1 − β)/s.
  const bias = (n * Math.sqrt(plan.dimension) * plan.beta) / (1 - plan.beta) / plan.scale;
  for (let j = 0; j < length; j++) {
    const d = ksStatistic(distributed[j], central[j]);
    t.true(d < ksCritical(alpha, trials, trials), `coordinate ${j}: KS D = ${d.toFixed(4)} ≥ ${ksCritical(alpha, trials, trials).toFixed(4)}`);
    const [lo, hi] = chiSquareInterval(alpha, trials - 1);
    const stat = ((trials - 1) * variance(distributed[j])) / sigma2;
    t.true(stat > lo && stat < hi, `coordinate ${j}: (n−1)s²/σ² = ${stat.toFixed(0)} outside [${lo.toFixed(0)}, ${hi.toFixed(0)}]`);
    const gap = Math.abs(mean(distributed[j]) - clippedSum[j]);
    const allowed = bias + normalQuantile(1 - alpha / 2) * Math.sqrt(sigma2 / trials);
    t.true(gap <= allowed, `coordinate ${j}: mean off by ${gap.toFixed(4)} > ${allowed.toFixed(4)}`);
  }
  t.log(`bits 16: scale ${plan.scale}, Δ₂ ${plan.l2.toFixed(1)} vs c ${plan.scaledClip}, bias bound ${bias.toExponential(2)}`);
});
