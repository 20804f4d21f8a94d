/**
 * Clients trained in worker threads (src/fl/parallel/) give the run of one thread: the same
 * final weights and the same event log, byte for byte, with 1, 2 and 4 threads and on every
 * repetition — and the threads really trained (the pool handed results to the clients).
 */
import test from 'ava';
import { initBackend } from '../src/runtime/backend.js';
import { TrainingPool } from '../src/fl/parallel/index.js';
import { parallelOptions, parallelRun } from './helpers/parallel-world.js';

let pools: Record<2 | 4, TrainingPool>;

test.before(async () => {
  await initBackend('cpu');
  pools = { 2: new TrainingPool(2), 4: new TrainingPool(4) };
  await Promise.all([pools[2].ready(), pools[4].ready()]);
});

test.after.always(async () => {
  await Promise.all(Object.values(pools ?? {}).map((p) => p.close()));
});

test.serial('FedAvg, 10 clients a round: weights and event log are the same with 1, 2 and 4 threads, twice each', async (t) => {
  const options = parallelOptions();
  const reference = await parallelRun(options, undefined);
  t.truthy(reference.weightsSha256, reference.error);
  for (const threads of [1, 2, 4] as const) {
    for (let repeat = 0; repeat < 2; repeat++) {
      const pool = threads === 1 ? undefined : pools[threads];
      const before = pool?.stats.taken ?? 0;
      const run = await parallelRun(options, pool ?? 1);
      t.deepEqual(run, reference, `${threads} threads, run ${repeat + 1}`);
      // 3 rounds × 10 clients, every training done by a thread.
      if (pool) t.is(pool.stats.taken - before, 30, `${threads} threads trained every fit`);
    }
  }
});

test.serial('a run that makes its own pool (workers: 2) gives the same run and closes it', async (t) => {
  const options = parallelOptions({ rounds: 2 });
  t.deepEqual(await parallelRun(options, 2), await parallelRun(options, undefined));
});

test.serial('another seed gives another run (the comparison can tell runs apart)', async (t) => {
  const options = parallelOptions({ rounds: 1 });
  const a = await parallelRun(options, pools[2], 7);
  const b = await parallelRun(options, pools[2], 8);
  t.not(a.weightsSha256, b.weightsSha256);
  t.not(a.logSha256, b.logSha256);
});
