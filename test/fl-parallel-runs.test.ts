/**
 * Worker threads under what makes runs hard (src/fl/parallel/): faults (drops, duplicates,
 * delays, a client crashing mid-round and losing its disk), algorithms whose training hooks
 * the worker rebuilds (FedProx, SCAFFOLD with client state), training that diverges or
 * throws in the worker, and the async engine. Each run with threads must be the one-thread
 * run: the same weights (or the same error) and the same event log, byte for byte.
 */
import test from 'ava';
import type { TrainingPool } from '../src/fl/parallel/index.js';
import { Scaffold } from '../src/fl/algorithms/scaffold.js';
import type { FaultPlanInput } from '../src/runtime/index.js';
import { SimulationCore } from '../src/runtime/index.js';
import { runAsyncFederated } from '../src/fl/async/run-async-federated.js';
import { createHash } from 'node:crypto';
import { parallelClients, parallelOptions, parallelRun, sharedTrainingPool } from './helpers/parallel-world.js';

const shared = sharedTrainingPool(test);

/** The run with the pool is the run without; returns what the pool handed out during it. */
async function sameWithThreads(t: import('ava').ExecutionContext, options: Parameters<typeof parallelRun>[0], faults?: FaultPlanInput) {
  const inline = await parallelRun(options, undefined, 7, faults);
  const before = { ...shared.pool.stats };
  const threaded = await parallelRun(options, shared.pool, 7, faults);
  t.deepEqual(threaded, inline);
  return { inline, taken: shared.pool.stats.taken - before.taken, failed: shared.pool.stats.failed - before.failed };
}

test.serial('a client crashing mid-round (after its fit arrived) and losing its disk, drops, duplicates and delays: the same run', async (t) => {
  const faults: FaultPlanInput = {
    drop: 0.05,
    duplicate: 0.1,
    delay: { rate: 0.2, dist: { kind: 'uniform', min: 1, max: 30 } },
    crashes: [{ actor: 'client-03', afterMessages: 1, restartAfter: 20, loseStorage: true }],
  };
  const { inline, taken } = await sameWithThreads(t, parallelOptions({ rounds: 4, roundDeadlineMs: 400 }), faults);
  t.truthy(inline.weightsSha256, inline.error);
  t.true(taken > 20, `the threads trained most fits (${taken})`);
});

test.serial('a client crashed before its fit arrives: the training done for it is discarded, the run is the same', async (t) => {
  // Fits leave at t=0 and arrive at t=1: a crash at 0.5 drops them at the client.
  const faults: FaultPlanInput = { crashes: [{ actor: 'client-05', at: 0.5, restartAfter: 100 }, { actor: 'client-11', at: 0.5, restartAfter: 100 }] };
  const { inline } = await sameWithThreads(t, parallelOptions({ rounds: 3, roundDeadlineMs: 400 }), faults);
  t.truthy(inline.weightsSha256, inline.error);
});

test.serial('FedProx (gradient terms rebuilt in the worker): the same run, trained by the threads', async (t) => {
  const { inline, taken } = await sameWithThreads(t, parallelOptions({ strategy: { name: 'fedprox', mu: 0.5 } }));
  t.truthy(inline.weightsSha256, inline.error);
  t.is(taken, 30);
});

test.serial('SCAFFOLD (client state confirmed round by round, control variates in the config): the same run, trained by the threads', async (t) => {
  const { inline, taken } = await sameWithThreads(t, parallelOptions({ strategy: { name: 'scaffold' }, rounds: 4 }));
  t.truthy(inline.weightsSha256, inline.error);
  t.is(taken, 40);
});

test.serial('DP-SGD (per-example clipping and noise, trained in the worker; the client accounts the round itself): the same run, dp-sgd marks included', async (t) => {
  const { inline, taken } = await sameWithThreads(t, parallelOptions({ dpSgd: { clip: 0.8, noiseMultiplier: 0.9, delta: 1e-4 }, rounds: 2 }));
  t.truthy(inline.weightsSha256, inline.error);
  t.is(taken, 20);
});

test.serial('training that diverges in a worker is refused as it is inline: the same refusals, rounds and log', async (t) => {
  const { inline, taken } = await sameWithThreads(t, parallelOptions({ lr: 1e30, rounds: 1 }));
  t.regex(JSON.stringify(inline.rounds), /diverged/);
  t.is(taken, 10);
});

test.serial('a worker whose training throws: the client trains inline and meets the same error; the run is the same', async (t) => {
  // A SCAFFOLD server that sends a control variate of the wrong layout: the client half refuses it in
  // beforeTraining, which runs in the worker first.
  class BadScaffold extends Scaffold {
    protected override fitConfig() {
      return { scaffoldControl: [new Float32Array(3)] };
    }
  }
  const { inline, failed } = await sameWithThreads(t, parallelOptions({ strategy: new BadScaffold({ fraction: 0.5 }), rounds: 1 }));
  t.is(failed, 10, 'every training failed in the worker');
  t.regex(JSON.stringify(inline.rounds), /scaffoldControl/);
});

test.serial('the async engine (FedBuff): the same run with threads', async (t) => {
  const run = async (workers?: TrainingPool) => {
    const sim = new SimulationCore({ seed: 3 });
    const result = await runAsyncFederated(sim, {
      model: parallelOptions().model,
      clients: parallelClients,
      localEpochs: 1,
      batchSize: 8,
      lr: 0.1,
      async: { algorithm: 'fedbuff', concurrency: 6, bufferSize: 3, maxServerUpdates: 4 },
      ...(workers ? { workers } : {}),
    });
    await sim.settle();
    return { weights: result.weightsSha256, log: createHash('sha256').update(sim.log.toJSONL()).digest('hex') };
  };
  const before = shared.pool.stats.taken;
  t.deepEqual(await run(shared.pool), await run());
  t.true(shared.pool.stats.taken - before > 0);
});
