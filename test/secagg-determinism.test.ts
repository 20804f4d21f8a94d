/**
 * Same seed ⇒ identical SecAgg+ run: event log (sha256), keys, ciphertexts, masks and result,
 * with and without dropouts. Another seed changes the keys and the log but not the sum's
 * accuracy.
 */
import test from 'ava';
import { SimulationCore, checkDeterminism, type FaultPlanInput } from '../src/runtime/index.js';
import { runSecAggPlus, type SecAggPlusResult } from '../src/fl/secure/secagg/index.js';
import { makeUpdates } from './helpers/secagg.js';

const updates = makeUpdates(8, 40, 'determinism');
const params = { numShares: 5, reconstructionThreshold: 3, timeout: 1_000 };
const faults: FaultPlanInput = { crashes: [{ actor: 'c1', afterMessages: 2 }, { actor: 'c6', afterMessages: 3 }] };

async function once(seed: number, withFaults: boolean): Promise<{ log: string; result: SecAggPlusResult; lines: number }> {
  const sim = new SimulationCore({ seed, faults: withFaults ? faults : undefined });
  const result = await runSecAggPlus(sim, { clients: updates, params });
  await sim.settle();
  return { log: sim.log.sha256(), result, lines: sim.log.length };
}

const bytes = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');

for (const withFaults of [false, true]) {
  test(`same seed ⇒ identical log, keys and result (${withFaults ? 'with' : 'without'} dropouts)`, async (t) => {
    const a = await once(42, withFaults);
    const b = await once(42, withFaults);
    t.is(a.log, b.log, 'event log sha256');
    t.deepEqual(a.result.publicKeys, b.result.publicKeys, 'every client\'s public keys');
    t.is(bytes(a.result.sum), bytes(b.result.sum), 'sum, bit for bit');
    t.is(bytes(a.result.quantizedSum), bytes(b.result.quantizedSum));
    t.deepEqual(a.result.survivors, b.result.survivors);
    t.deepEqual(a.result.stages, b.result.stages);
    if (withFaults) t.deepEqual(a.result.dropped, ['c1']);
    t.log(`log sha256 ${a.log.slice(0, 16)}… over ${a.lines} events`);
  });
}

test('another seed gives other keys and another log, and still the right sum', async (t) => {
  const a = await once(42, true);
  const c = await once(43, true);
  t.not(a.log, c.log);
  for (const id of Object.keys(a.result.publicKeys)) t.notDeepEqual(a.result.publicKeys[id], c.result.publicKeys[id]);
  // Stochastic rounding differs, so the sums differ by at most the quantisation error.
  const step = (2 * 8) / (2 ** 22 - 1);
  t.true(a.result.sum.every((v, i) => Math.abs(v - c.result.sum[i]) <= 2 * 7 * step + 1e-5));
});

test('checkDeterminism (the runtime\'s own check) finds no divergence', async (t) => {
  const report = await checkDeterminism((sim) => runSecAggPlus(sim, { clients: updates, params }), { seed: 5, faults });
  t.true(report.deterministic, JSON.stringify(report.divergence));
  t.is(report.hashes[0], report.hashes[1]);
});
