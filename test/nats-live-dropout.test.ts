/**
 * A `fedsim worker` process killed in the middle of a live run: the driver's awaited
 * reply does not wait forever — the run fails at once with the process and its actors
 * named.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { defineScenario, type Sim } from '../src/scenario/index.js';
import { ready } from './helpers/pointers.js';
import { liveWorld, runLive } from './helpers/live-worker.js';

const RUN = `dropout-${process.pid}`;
const world = liveWorld(test, { actors: ['bob'], run: RUN, before: ready });


test('a worker process killed mid-run fails the awaited reply with a clear error instead of hanging', async (t) => {
  const scenario = defineScenario({
    name: 'killed-worker',
    async run(sim: Sim) {
      const bob = sim.worker('bob');
      const local = tf.tensor([1, 2, 3]);
      const x = local.send(bob);
      local.dispose();
      t.is((await bob.listObjects()).size, 1, 'bob answered while its process was alive');
      await world.worker.kill();
      await x.get();
    },
  });
  const live = await runLive(scenario, { url: world.server.url, run: RUN });
  const message = String((live.outcome.error as Error)?.message);
  t.regex(message, /The fedsim worker process worker-\d+@\S+, which hosted bob, is gone/);
  t.regex(message, /Restart it and run again/);
});
