/**
 * What a worker thread keeps between tasks (src/fl/parallel/: bounded-cache.ts, content-keys.ts):
 * client data and a round's weights go to a thread once, and nothing about that cache can
 * change a run — a cache too small to hold a round, a thread that dies and starts afresh (empty)
 * between runs or mid-run, two runs in one pool under the same client ids with other data: each
 * run is its one-thread run, weights and event log byte for byte.
 */
import test from 'ava';
import { TrainingPool } from '../src/fl/parallel/index.js';
import { SimulationCore } from '../src/runtime/index.js';
import { FL } from '../src/fl/rounds/protocol.js';
import { runFederated } from '../src/fl/rounds/index.js';
import { syntheticFedProx } from '../src/fl/data/synthetic.js';
import { BoundedCache } from '../src/fl/parallel/bounded-cache.js';
import { canonicalLayer } from '../src/fl/parallel/content-keys.js';
import { canonicalJson } from '../src/runtime/canonical.js';
import { parallelClients, parallelOptions, parallelRun, sharedTrainingPool } from './helpers/parallel-world.js';

const shared = sharedTrainingPool(test);

test('BoundedCache evicts the least recently used past its entry and byte limits, and keeps an oversized newest entry alone', (t) => {
  const cache = new BoundedCache<string>({ entries: 2, bytes: 100 });
  cache.set('a', 'A', 10);
  cache.set('b', 'B', 10);
  t.is(cache.get('a'), 'A'); // a is now the most recent
  cache.set('c', 'C', 10); // over 2 entries: b goes
  t.false(cache.has('b'));
  t.true(cache.has('a') && cache.has('c'));
  cache.set('d', 'D', 85); // 105 bytes: the oldest (a) goes, then 95 ≤ 100
  t.deepEqual([cache.has('a'), cache.has('c'), cache.has('d')], [false, true, true]);
  cache.set('e', 'E', 500); // alone over the limit: kept, everything else goes
  t.is(cache.size, 1);
  t.is(cache.get('e'), 'E');
});

test('a layer\'s memoised canonical stand-in is written exactly as canonicalJson writes the Float32Array (so fit digests are unchanged)', (t) => {
  const layers = [new Float32Array([1, -0, 2.5, Number.NaN]), new Float32Array(0), Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i))];
  t.is(canonicalJson({ weights: layers.map(canonicalLayer), config: { lr: 0.1 } }), canonicalJson({ weights: layers, config: { lr: 0.1 } }));
  t.not(canonicalJson(canonicalLayer(new Float32Array([1, 2]))), canonicalJson(new Float32Array([2, 1])));
});

test.serial('client data goes to a thread once a run: later rounds send only the round\'s weights, once per thread', async (t) => {
  const before = { ...shared.pool.stats };
  // 12 clients, every one every round (all sent off at once: the prefetcher's window is 16).
  const options = parallelOptions({ rounds: 3, fraction: 1, clients: parallelClients.slice(0, 12) });
  t.deepEqual(await parallelRun(options, shared.pool), await parallelRun(options, undefined));
  // Each data set crosses once (a client goes back to the thread that holds it); each round's weights once per thread.
  t.is(shared.pool.stats.dataSent - before.dataSent, 12);
  t.is(shared.pool.stats.weightsSent - before.weightsSent, 3 * 2);
  t.is(shared.pool.stats.taken - before.taken, 36);
});

test.serial('a cache that holds one entry (data and weights evict each other at every task): the same run, every fit trained by the threads', async (t) => {
  const tiny = new TrainingPool(2, { cache: { entries: 1 } });
  try {
    await tiny.ready();
    const options = parallelOptions({ rounds: 3 });
    t.deepEqual(await parallelRun(options, tiny), await parallelRun(options, undefined));
    t.is(tiny.stats.taken, 30);
    t.is(tiny.stats.dataSent, 30, 'every task carried its data again');
    t.is(tiny.stats.resent, 0, 'the pool knew what each thread had evicted');
  } finally {
    await tiny.close();
  }
});

test.serial('a thread that died between runs starts afresh for the next task: the same run, trained by the threads', async (t) => {
  const options = parallelOptions({ rounds: 2 });
  await parallelRun(options, shared.pool);
  await shared.pool.terminateThread(0);
  const before = { ...shared.pool.stats };
  t.deepEqual(await parallelRun(options, shared.pool), await parallelRun(options, undefined));
  t.is(shared.pool.stats.restarts - before.restarts, 1);
  t.is(shared.pool.stats.taken - before.taken, 20, 'the fresh thread trained its share');
});

test.serial('a thread killed mid-run (after round 1): its tasks fail and their clients train inline, the thread starts afresh; the same run', async (t) => {
  const options = parallelOptions({ rounds: 4 });
  const reference = await parallelRun(options, undefined);
  const sim = new SimulationCore({ seed: 7 });
  let killed: Promise<void> | undefined;
  const watch = sim.bus$.subscribe((envelope) => {
    if (envelope.type === FL.roundEnd && !killed) killed = shared.pool.terminateThread(1);
  });
  const before = { ...shared.pool.stats };
  try {
    const result = await runFederated(sim, { ...options, workers: shared.pool });
    t.is(result.weightsSha256, reference.weightsSha256 ?? 'no reference');
  } finally {
    watch.unsubscribe();
  }
  await killed;
  t.truthy(killed);
  t.is(shared.pool.stats.taken - before.taken + (shared.pool.stats.failed - before.failed), 40, 'every fit was answered by a thread or trained inline after one died');
});

test.serial('two runs in one pool with other data under the same client ids do not mix: each is its own one-thread run', async (t) => {
  const other = syntheticFedProx({ alpha: 0.5, beta: 0.5, devices: 20, features: 10, classes: 3, maxSamplesPerDevice: 40 }, { seed: 2, name: 'data' }).map((d) => ({ x: d.trainX, y: d.trainY }));
  const first = parallelOptions({ rounds: 2, fraction: 1 });
  const second = parallelOptions({ rounds: 2, fraction: 1, clients: other });
  const firstRun = await parallelRun(first, shared.pool);
  const secondRun = await parallelRun(second, shared.pool);
  t.deepEqual(firstRun, await parallelRun(first, undefined));
  t.deepEqual(secondRun, await parallelRun(second, undefined));
  t.not(firstRun.weightsSha256 ?? '', secondRun.weightsSha256 ?? '');
});

test.serial('the same arrays refilled in place between two runs: the second run trains on the new values', async (t) => {
  const clients = parallelClients.map((c) => ({ x: c.x.slice(), y: c.y.slice() }));
  const options = parallelOptions({ rounds: 1, fraction: 1, clients });
  await parallelRun(options, shared.pool);
  for (const c of clients) c.x.reverse();
  t.deepEqual(await parallelRun(options, shared.pool), await parallelRun(options, undefined));
});
