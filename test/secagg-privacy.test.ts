/**
 * What the SecAgg+ server sees carries no individual update.
 *
 * Statistically: every masked vector the server receives is uniform over Z_m (chi-square on
 * high and low bits) and uncorrelated with the client's quantised input, over many trials
 * with different seeds. A negative control shows the same tests do detect unmasked inputs.
 * From the event log: no message addressed to the server holds a client's quantised or raw
 * update (typed arrays compared by the same digest the log uses).
 */
import test from 'ava';
import { SimulationCore, digestOf } from '../src/runtime/index.js';
import { SECAGG, runSecAggPlus } from '../src/fl/secure/secagg/index.js';
import { SERVER, clientIds, makeUpdates, maskedInputs, quantizedInput, sentTo, typedArraysIn } from './helpers/secagg.js';

const N = 5;
const LENGTH = 64;
const TRIALS = 60;
const M = 2 ** 32;
/** Chi-square critical value, 15 degrees of freedom, α = 0.001. */
const CHI2_15_CRITICAL = 37.7;

interface Trial {
  sim: SimulationCore;
  updates: Record<string, Float32Array>;
  quantized: Map<string, Uint32Array>;
  masked: Map<string, Uint32Array>;
}

async function trials(): Promise<Trial[]> {
  const out: Trial[] = [];
  for (let seed = 0; seed < TRIALS; seed++) {
    const updates = makeUpdates(N, LENGTH, `privacy-${seed}`);
    const sim = new SimulationCore({ seed });
    const result = await runSecAggPlus(sim, { clients: updates, params: { numShares: N, reconstructionThreshold: 3 } });
    const quantized = new Map(clientIds(N).map((id) => [id, quantizedInput(seed, id, updates[id], result.config)]));
    out.push({ sim, updates, quantized, masked: maskedInputs(sim) });
  }
  return out;
}

const all = trials();

function chiSquare16(values: Iterable<number>, bin: (v: number) => number): number {
  const counts = new Array(16).fill(0);
  let total = 0;
  for (const v of values) {
    counts[bin(v)]++;
    total++;
  }
  const expected = total / 16;
  return counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
}

function correlation(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

const highBits = (v: number) => Math.floor(v / (M / 16));
const lowBits = (v: number) => v % 16;

test('each client\'s masked vector is uniform over Z_m and uncorrelated with its input', async (t) => {
  const runs = await all;
  for (const id of clientIds(N)) {
    const masked = runs.flatMap((r) => [...r.masked.get(id)!]);
    const inputs = runs.flatMap((r) => [...r.quantized.get(id)!]);
    t.is(masked.length, TRIALS * LENGTH);
    const chiHigh = chiSquare16(masked, highBits);
    const chiLow = chiSquare16(masked, lowBits);
    const r = correlation(inputs, masked);
    const bound = 4 / Math.sqrt(masked.length); // 4 standard errors of r under independence
    t.log(`${id}: chi² high ${chiHigh.toFixed(1)}, low ${chiLow.toFixed(1)} (df 15); corr ${r.toFixed(4)} (bound ${bound.toFixed(4)})`);
    t.true(chiHigh < CHI2_15_CRITICAL, `${id}: chi-square (high bits) ${chiHigh.toFixed(1)} < ${CHI2_15_CRITICAL}`);
    t.true(chiLow < CHI2_15_CRITICAL, `${id}: chi-square (low bits) ${chiLow.toFixed(1)} < ${CHI2_15_CRITICAL}`);
    t.true(Math.abs(r) < bound, `${id}: |corr(input, masked)| = ${Math.abs(r).toFixed(4)} < ${bound.toFixed(4)}`);
  }
  // Pooled over every client and trial.
  const masked = runs.flatMap((r) => [...r.masked.values()].flatMap((v) => [...v]));
  const inputs = runs.flatMap((r) => [...r.masked.keys()].flatMap((id) => [...r.quantized.get(id)!]));
  t.true(chiSquare16(masked, highBits) < CHI2_15_CRITICAL);
  t.true(Math.abs(correlation(inputs, masked)) < 4 / Math.sqrt(masked.length));
});

test('negative control: the same tests flag an unmasked (merely quantised) input', async (t) => {
  const runs = await all;
  const inputs = runs.flatMap((r) => [...r.quantized.values()].flatMap((v) => [...v]));
  // Quantised values sit near quantizationRange / 2 = 2^21: far from uniform over 2^32.
  t.true(chiSquare16(inputs, highBits) > 1000 * CHI2_15_CRITICAL);
  const leaky = runs.flatMap((r) => [...r.quantized.values()].flatMap((v) => [...v].map((x) => (x + 12345) % M)));
  t.true(correlation(inputs, leaky) > 0.99);
});

test('the event log shows no unmasked update addressed to the server', async (t) => {
  const runs = await all;
  let checked = 0;
  for (const run of runs) {
    const forbidden = new Set<string>();
    for (const [id, q] of run.quantized) {
      forbidden.add(digestOf(q));
      forbidden.add(digestOf(run.updates[id]));
    }
    const toServer = sentTo(run.sim, SERVER);
    t.deepEqual(
      [...new Set(toServer.map((e) => e.type))].sort(),
      [SECAGG.start, SECAGG.shares, SECAGG.maskedInput, SECAGG.publicKeys, SECAGG.signature, SECAGG.unmaskShares].sort(),
      'only the parent\'s start and the five protocol answers reach the server',
    );
    for (const event of toServer) {
      for (const array of typedArraysIn(event.envelope.payload)) {
        checked++;
        if (forbidden.has(digestOf(array))) t.fail(`${event.msg} (${event.type} from ${event.from}) carries a client's unmasked update`);
      }
    }
    // The masked vectors differ from the inputs in (nearly) every coordinate.
    for (const [id, masked] of run.masked) {
      const q = run.quantized.get(id)!;
      t.true(masked.filter((v, i) => v === q[i]).length <= 1);
    }
  }
  t.true(checked > TRIALS * N * 3);
});
