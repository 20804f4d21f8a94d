/**
 * A request whose reply can never come, in a live run: dropped by a live fault on the way
 * out (at the driver) or on the way back (at the worker's process). The run does not hang:
 * once every process is idle with nothing in flight, the await fails with the DeadlockError
 * the simulator raises for the same plan. And an FL experiment run live — the round engine
 * waiting for its result through the Host — ends a round whose client's updates are lost at
 * its deadline on the live clock, and writes results.json like `fedsim run`.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeadlockError } from '../src/runtime/errors.js';
import { defineScenario, runScenario, type Sim } from '../src/scenario/index.js';
import { fedsim, tempDir } from './helpers/fedsim-cli.js';
import { ready } from './helpers/pointers.js';
import { liveWorld, runLive } from './helpers/live-worker.js';

const RUN = `lost-${process.pid}`;
const world = liveWorld(test, { actors: ['bob'], run: RUN, before: ready });


/** Sends a tensor to bob (me:0), then asks for bob's objects (me:1). */
const sendThenList = defineScenario({
  name: 'send-then-list',
  async run(sim: Sim) {
    const bob = sim.worker('bob');
    const local = tf.tensor([1, 2, 3]);
    local.send(bob);
    local.dispose();
    return { ids: (await bob.listObjects()).ids };
  },
});

test.serial('a request dropped live at the driver fails with the DeadlockError the simulator gives, instead of hanging', async (t) => {
  const plan = { script: [{ msg: 'me:1', drop: true }] };
  const simulated = await runScenario(sendThenList, { seed: 1, faults: plan });
  t.true(simulated.error instanceof DeadlockError, String(simulated.error));
  const live = await runLive(sendThenList, { url: world.server.url, run: RUN, faults: plan });
  t.true(live.outcome.error instanceof DeadlockError, String(live.outcome.error));
  const message = (live.outcome.error as Error).message;
  t.regex(message, /waiting for .*bob/);
  t.regex(message, /every process is idle and nothing is in flight/);
});

test.serial('a reply dropped live at the worker process fails the awaited request the same way', async (t) => {
  const plan = { links: [{ from: 'bob', to: 'me', drop: 1 }] };
  const live = await runLive(sendThenList, { url: world.server.url, run: RUN, faults: plan });
  t.true(live.outcome.error instanceof DeadlockError, String(live.outcome.error));
  // The worker's process made the fault decision: the driver's own log shows no reply arriving.
  t.true(live.outcome.sim.log.events.every((e) => e.ev !== 'delivered' || e.to !== 'me'), 'no reply reached me');
});

test.serial('an FL experiment runs live: a client whose updates are lost is dropped at the round deadline on the live clock, and results.json is written', async (t) => {
  const dir = tempDir(t, 'fedsim-live-fl-');
  const faults = join(dir, 'faults.json');
  writeFileSync(faults, JSON.stringify({ links: [{ from: 'client-1', to: 'server', drop: 1 }] }));
  const out = join(dir, 'out');
  const settings = ['rounds=2', 'data.devices=3', 'fraction=1', 'localEpochs=1', 'roundDeadlineMs=1000'].flatMap((s) => ['--set', s]);
  const run = await fedsim('run', 'scenarios/experiments/synthetic-fedavg.yaml', ...settings, '--faults', faults, '--transport', 'nats', '--nats', world.server.url, '--run', RUN, '--out', out);
  t.is(run.code, 0, run.stdout + run.stderr);
  t.regex(run.stdout, /synthetic-fedavg passed \(live\)/);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  t.true(results.ok);
  const rounds = results.result.perRound as Array<{ round: number; selected: number; participants: number; drops: { deadline: number } }>;
  t.deepEqual(
    rounds.map((r) => [r.round, r.selected, r.participants, r.drops.deadline]),
    [
      [1, 3, 2, 1],
      [2, 3, 2, 1],
    ],
  );
  const header = JSON.parse(readFileSync(join(out, 'run.jsonl'), 'utf8').split('\n')[0]);
  t.is(header.transport, 'nats');
  t.is(results.log.events, readFileSync(join(out, 'run.jsonl'), 'utf8').trim().split('\n').length - 1);
  t.regex(readFileSync(join(out, 'report.html'), 'utf8'), /synthetic-fedavg/);
});
