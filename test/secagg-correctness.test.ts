/**
 * SecAgg+ correctness: the securely aggregated sum equals the plain sum within the
 * quantisation error, and the unmasked quantised sum is exact, for n = 3 … 50 clients, on
 * the complete graph (SecAgg) and on sparse neighbour graphs (SecAgg+).
 */
import test from 'ava';
import { SimulationCore } from '../src/runtime/index.js';
import {
  SecAggConfigError,
  effectiveShares,
  resolveRoundConfig,
  parseSecAggParams,
  roundQuantizationStep,
  runSecAggPlus,
  type SecAggPlusParamsInput,
} from '../src/fl/secure/secagg/index.js';
import { clientIds, makeUpdates, maxAbsDiff, plainSum, quantizedInput, sumMod } from './helpers/secagg.js';

const LENGTH = 100;

async function checkRound(t: import('ava').ExecutionContext, n: number, params: SecAggPlusParamsInput, seed = n) {
  const updates = makeUpdates(n, LENGTH, `correctness-${n}`);
  const sim = new SimulationCore({ seed });
  const result = await runSecAggPlus(sim, { clients: updates, params });
  const ids = clientIds(n);
  t.deepEqual(result.survivors, ids);
  t.deepEqual(result.dropped, []);

  // Exact: the unmasked sum is Σ of the clients' quantised vectors mod m.
  const quantized = ids.map((id) => quantizedInput(seed, id, updates[id], result.config));
  t.deepEqual([...result.quantizedSum], [...sumMod(quantized, result.config.modulusRange)], 'quantised sum is exact');

  // Close: within n quantisation steps of the float sum (plus float32 rounding of the result).
  const step = roundQuantizationStep(result.config);
  const plain = plainSum(updates, ids);
  const bound = n * step + 1e-6 * Math.max(...plain.map(Math.abs));
  t.true(maxAbsDiff(result.sum, plain) <= bound, `|secure − plain| ≤ ${bound}`);
  t.true(maxAbsDiff(result.average, plain.map((v) => v / n)) <= bound / n + 1e-6);
  return result;
}

for (const n of [3, 5, 10, 20, 50]) {
  test(`complete graph (SecAgg), n = ${n}: sum equals the plain sum within n quantisation steps`, async (t) => {
    const result = await checkRound(t, n, { numShares: n, reconstructionThreshold: Math.floor(n / 2) + 1 });
    t.is(result.config.numShares, n);
    t.deepEqual(result.stages.map((s) => s.stage), ['setup', 'share-keys', 'collect-masked-input', 'consistency-check', 'unmask']);
    t.true(result.stages.every((s) => !s.timedOut && s.answered.length === n));
  });
}

for (const [n, k, threshold] of [[10, 5, 3], [20, 5, 3], [50, 7, 4], [50, 4, 3]] as const) {
  test(`sparse graph (SecAgg+), n = ${n}, numShares = ${k}: sum is exact`, async (t) => {
    const result = await checkRound(t, n, { numShares: k, reconstructionThreshold: threshold });
    t.is(result.config.numShares, effectiveShares(k, n));
    t.is(result.config.numShares % 2, 1, 'ring neighbourhoods have odd size');
  });
}

test('numShares ≥ n − 1 degenerates to the complete graph, and a majority of numShares is raised to a majority of it', (t) => {
  const params = parseSecAggParams({ numShares: 9, reconstructionThreshold: 5 });
  const complete = resolveRoundConfig(params, 0, 10);
  t.is(complete.numShares, 10);
  t.is(complete.threshold, 6, '5 of 9 was a majority; of the 10 actually used it is not, so it becomes 6');
  t.is(complete.requestedThreshold, 5);
  const ring = resolveRoundConfig(params, 0, 11);
  t.is(ring.numShares, 9);
  t.is(ring.threshold, 5);
  t.is(ring.requestedThreshold, undefined);
  t.is(effectiveShares(8, 20), 9, 'even counts are raised to odd, as in Flower');
});

test('a non-power-of-two modulus and small ranges still give the exact sum', async (t) => {
  await checkRound(t, 6, { numShares: 6, reconstructionThreshold: 4, modulusRange: 1_000_003, quantizationRange: 100_000, clippingRange: 6 });
});

test('clients may supply their update as a function of the round', async (t) => {
  const updates = makeUpdates(4, 20);
  const sim = new SimulationCore({ seed: 9 });
  const clients = new Map(Object.entries(updates).map(([id, v]) => [id, (round: number) => v.map((x) => x + round)]));
  const result = await runSecAggPlus(sim, { clients, params: { numShares: 4, reconstructionThreshold: 3 }, round: 2 });
  const plain = plainSum(updates, clientIds(4)).map((v) => v + 2 * 4);
  t.true(maxAbsDiff(result.sum, plain) <= 4 * roundQuantizationStep(result.config) + 1e-5);
});

test('parameters that cannot work are refused before any message, naming the numbers', async (t) => {
  const sim = new SimulationCore();
  const clients = makeUpdates(5, 4);
  const tooHigh = await t.throwsAsync(runSecAggPlus(sim, { clients, params: { numShares: 3, reconstructionThreshold: 4 } }), { instanceOf: SecAggConfigError });
  t.regex(tooHigh!.message, /reconstructionThreshold 4 exceeds the 3 shares/);
  const wraps = await t.throwsAsync(
    runSecAggPlus(sim, { clients, params: { numShares: 5, reconstructionThreshold: 3, quantizationRange: 2 ** 30, modulusRange: 2 ** 32 } }),
    { instanceOf: SecAggConfigError },
  );
  t.regex(wraps!.message, /wraps modulo modulusRange 4294967296 \(at most 4 clients fit\)/);
  const bad = t.throws(() => parseSecAggParams({ numShares: 5, reconstructionThreshold: 1 }), { instanceOf: SecAggConfigError });
  t.regex(bad!.message, /reconstructionThreshold/);
  t.is(sim.log.events.length, 0, 'nothing was spawned or sent');
});

test('the exact limit n · (quantizationRange − 1) < modulusRange admits Flower defaults up to 1024 clients', (t) => {
  const params = parseSecAggParams({ numShares: 21, reconstructionThreshold: 11 });
  t.notThrows(() => resolveRoundConfig(params, 0, 1000));
  t.notThrows(() => resolveRoundConfig(params, 0, 1024));
  t.throws(() => resolveRoundConfig(params, 0, 1025), { instanceOf: SecAggConfigError });
});
