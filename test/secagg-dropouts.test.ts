/**
 * SecAgg+ under dropouts from the fault plan: up to n − threshold clients may crash at any
 * stage and the survivors' sum is still exact; one more aborts the round with an error
 * naming the stage, the survivors and the threshold, and the global model stays unchanged.
 *
 * A client handles one message per stage (setup, share-keys, collect, unmask), so a crash
 * `afterMessages: k` drops it at stage k (it answered the k earlier stages); `at: 0` drops
 * it before it answers setup.
 */
import test from 'ava';
import { SimulationCore, createStream, type FaultPlanInput } from '../src/runtime/index.js';
import {
  SECAGG_STAGES,
  SecAggAbortedError,
  type SecAggStage,
  buildNeighbourGraph,
  ringOrder,
  roundQuantizationStep,
  runSecAggPlus,
  SERVER_GRAPH_STREAM,
  effectiveShares,
} from '../src/fl/secure/secagg/index.js';
import { SERVER, clientIds, makeUpdates, maxAbsDiff, plainSum, quantizedInput, sumMod } from './helpers/secagg.js';

type Crash = FaultPlanInput extends { crashes?: Array<infer C> } ? C : never;

/** The fault-plan crash that drops `actor` in `stage`. */
function dropAt(actor: string, stage: SecAggStage): Crash {
  const index = SECAGG_STAGES.indexOf(stage);
  return index === 0 ? { actor, at: 0 } : { actor, afterMessages: index };
}

const LENGTH = 50;

/** Runs a round with the given crashes; returns the result and the clients whose update must be in the sum. */
async function run(n: number, threshold: number, crashes: Crash[], numShares = n, seed = 7) {
  const updates = makeUpdates(n, LENGTH, `dropouts-${n}`);
  const sim = new SimulationCore({ seed, faults: { crashes } });
  const result = await runSecAggPlus(sim, { clients: updates, params: { numShares, reconstructionThreshold: threshold, timeout: 5_000 } });
  return { sim, updates, result };
}

/** Clients still in the sum: all but those that crashed before sending their masked input. */
function expectedSurvivors(n: number, crashes: Crash[]): string[] {
  const gone = new Set(crashes.filter((c) => c.at !== undefined || (c.afterMessages ?? 0) <= 2).map((c) => c.actor));
  return clientIds(n).filter((id) => !gone.has(id));
}

function checkExact(t: import('ava').ExecutionContext, seed: number, updates: Record<string, Float32Array>, result: Awaited<ReturnType<typeof runSecAggPlus>>, survivors: string[]) {
  t.deepEqual(result.survivors, survivors);
  const quantized = survivors.map((id) => quantizedInput(seed, id, updates[id], result.config));
  t.deepEqual([...result.quantizedSum], [...sumMod(quantized, result.config.modulusRange)], 'the quantised survivor sum is exact');
  const bound = survivors.length * roundQuantizationStep(result.config) + 1e-5;
  t.true(maxAbsDiff(result.sum, plainSum(updates, survivors)) <= bound, 'dequantised sum within n quantisation steps');
}

const N = 7;
const T = 4;

for (const stage of SECAGG_STAGES) {
  test(`n − t = ${N - T} clients dropping at ${stage}: the survivors' sum is exact`, async (t) => {
    const crashes = clientIds(N).slice(1, 1 + N - T).map((id) => dropAt(id, stage));
    const { updates, result } = await run(N, T, crashes);
    const survivors = expectedSurvivors(N, crashes);
    checkExact(t, 7, updates, result, survivors);
    const report = result.stages.find((s) => s.stage === stage)!;
    t.is(report.dropped.length, N - T, `${stage} reports its dropouts`);
    t.true(report.timedOut, 'the stage closed on its virtual-time timeout');
    t.is(report.closedAt - report.startedAt, 5_000);
  });

  test(`n − t + 1 = ${N - T + 1} clients dropping at ${stage}: the round aborts naming stage, survivors and threshold`, async (t) => {
    const crashes = clientIds(N).slice(0, N - T + 1).map((id) => dropAt(id, stage));
    const error = await t.throwsAsync(run(N, T, crashes), { instanceOf: SecAggAbortedError });
    const survivors = clientIds(N).slice(N - T + 1);
    t.is(error!.details.stage, stage);
    t.deepEqual(error!.details.survivors, survivors);
    t.is(error!.details.threshold, T);
    t.regex(error!.message, new RegExp(`aborted at stage '${stage}'`));
    t.regex(error!.message, new RegExp(`only ${T - 1} of ${N} participants answered \\(${survivors.join(', ')}\\), fewer than the reconstruction threshold ${T}`));
    t.regex(error!.message, /global model is unchanged/);
  });
}

test('dropouts spread over every stage, n − t in total, still give the exact sum', async (t) => {
  const ids = clientIds(9);
  const crashes = [dropAt(ids[0], 'setup'), dropAt(ids[3], 'share-keys'), dropAt(ids[5], 'collect-masked-input'), dropAt(ids[8], 'unmask')];
  const { updates, result } = await run(9, 5, crashes);
  checkExact(t, 7, updates, result, expectedSurvivors(9, crashes));
  t.deepEqual(result.dropped, [ids[0], ids[3], ids[5]], 'a client lost during unmask is still in the sum');
  t.deepEqual(result.stages.map((s) => s.dropped), [[ids[0]], [ids[3]], [ids[5]], [], [ids[8]]]);
});

test('a crash mid-stage by virtual time counts as a dropout too', async (t) => {
  // Stages close when all answer: setup at t=3, share-keys at t=5, so t=4 falls inside share-keys.
  const crashes = [{ actor: 'c2', at: 4 }];
  const { updates, result } = await run(5, 3, crashes);
  checkExact(t, 7, updates, result, ['c0', 'c1', 'c3', 'c4']);
});

test('the global model is unchanged when a round aborts', async (t) => {
  const model = new Float32Array(LENGTH).fill(0.5);
  const before = Float32Array.from(model);
  const crashes = clientIds(5).slice(0, 3).map((id) => dropAt(id, 'collect-masked-input'));
  try {
    const { result } = await run(5, 3, crashes);
    model.set(result.average.map((v, i) => model[i] + v));
  } catch (error) {
    t.true(error instanceof SecAggAbortedError);
  }
  t.deepEqual(model, before);
});

test('sparse graph: 7 of 20 clients spread over the ring may drop; 3 in one neighbourhood of 5 abort', async (t) => {
  const n = 20;
  const k = 5;
  const seed = 7;
  const ids = clientIds(n);
  const ring = ringOrder(ids, createStream(seed, `actor/${SERVER}/${SERVER_GRAPH_STREAM}`));
  const graph = buildNeighbourGraph(ids, effectiveShares(k, n), createStream(seed, `actor/${SERVER}/${SERVER_GRAPH_STREAM}`));
  // Every third ring position: each window of 5 consecutive positions loses at most 2.
  const spread = ring.filter((_, i) => i % 3 === 0).map((id) => dropAt(id, 'collect-masked-input'));
  t.is(spread.length, 7);
  const { updates, result } = await run(n, 3, spread, k, seed);
  checkExact(t, seed, updates, result, expectedSurvivors(n, spread));

  // Three consecutive ring positions lie in one neighbourhood: its owner keeps only 2 holders.
  const owner = ring[10];
  const crowd = [ring[9], ring[10], ring[11]];
  t.true(crowd.every((id) => graph.get(owner)!.includes(id)));
  const error = await t.throwsAsync(run(n, 3, crowd.map((id) => dropAt(id, 'collect-masked-input')), k, seed), { instanceOf: SecAggAbortedError });
  t.is(error!.details.stage, 'collect-masked-input');
  t.regex(error!.message, /neighbourhood \[.*\], of which only 2 remain .*fewer than the reconstruction threshold 3/);
});
