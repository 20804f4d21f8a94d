/**
 * Two `fedsim worker` processes offering the same actor on one run: both would create it when
 * it is placed, and the run would then fail in ways that do not point at the cause (a tensor
 * disposed twice, an object that already exists, recordings that do not add up) or hang. The
 * driver gathers every answer to a placement, so the run fails before it starts, naming the
 * actor and both processes and saying what to do; the processes that created it drop their
 * part of the run. A pointer worker offered twice (--actors) and an FL client offered by two
 * workers' overlapping --clients.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pointerChains from '../scenarios/pointer-chains.js';
import { clientPlacements } from '../src/fl/experiments/placed-clients.js';
import type { FedAvgExperimentResult } from '../src/fl/experiments/fedavg-experiment.js';
import { LiveTransportError } from '../src/runtime/transport/nats/nats-transport.js';
import { defineScenario, loadScenario, type Scenario, type Sim } from '../src/scenario/index.js';
import '../src/fl/experiments/register.js';
import { EXIT_FAILED } from '../src/cli/cli-error.js';
import { fedsim } from './helpers/fedsim-cli.js';
import { type LiveWorker, runLive, startWorker } from './helpers/live-worker.js';
import { type RunningNatsServer, startNatsServer } from './helpers/nats-server.js';
import { ready } from './helpers/pointers.js';
import { smallMlpExperimentFile } from './helpers/tiny-experiment.js';

const RUN = `duplicate-hosts-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'fedsim-duplicate-hosts-'));
const chains = defineScenario({ name: 'pointer-chains', run: (sim: Sim) => pointerChains(sim) });

let server: RunningNatsServer | undefined;
const workers: LiveWorker[] = [];
const start = async (run: string, actors: string[], extra: string[]) => {
  const worker = await startWorker(server!.url, actors, run, extra);
  workers.push(worker);
  return worker;
};

/** Resolves once the worker has said it dropped its part of a run its driver gave up (the test's timeout bounds the wait). */
async function droppedItsPart(worker: LiveWorker): Promise<void> {
  while (!/ended; its driver gave it up \(placing '[^']+' failed\)/.test(worker.stderr())) await new Promise((resolve) => setTimeout(resolve, 50));
}

test.before(async () => {
  await ready();
  server = await startNatsServer();
});

test.after.always(async () => {
  for (const worker of workers) await worker.stop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test.serial('two worker processes offering bob: the run fails before it starts, naming bob and both processes; once one is stopped the run succeeds', async (t) => {
  const run = `${RUN}-pointers`;
  const first = await start(run, ['bob', 'alice'], ['--name', 'worker-one']);
  const second = await start(run, ['bob'], ['--name', 'worker-two']);
  const live = await runLive(chains, { url: server!.url, run });
  const error = live.outcome.error as Error;
  t.true(error instanceof LiveTransportError, String(error));
  t.regex(error.message, /'bob' is hosted by more than one fedsim worker process on run '[^']+': worker-(one|two) and worker-(one|two) each created it/);
  t.true(error.message.includes('worker-one') && error.message.includes('worker-two'), error.message);
  t.regex(error.message, /Give each actor to exactly one `fedsim worker`: check their --actors \/ --clients patterns .*--actors bob/);
  t.is(live.text, undefined, 'no recording of a run that never started');
  // Both processes that created bob dropped their part of the run.
  await droppedItsPart(first);
  await droppedItsPart(second);

  // One process per actor again: the same run goes through on the remaining worker.
  await second.stop();
  const alone = await runLive(chains, { url: server!.url, run });
  t.is(alone.outcome.error, undefined, String(alone.outcome.error));
  t.deepEqual(alone.log!.header.hosts!.map((h) => h.host).sort(), ['driver', 'worker-one']);
});

test.serial('two worker processes whose --clients overlap: the FL run fails before it starts, naming the client and both processes', async (t) => {
  const run = `${RUN}-fl`;
  const experiment = join(dir, 'overlap.yaml');
  writeFileSync(experiment, smallMlpExperimentFile({ name: 'overlap', seed: 4, rounds: 1 }) + 'roundDeadlineMs: 120000\n');
  const a = await start(run, [], ['--experiment', experiment, '--clients', 'client-0,client-1', '--name', 'clients-a']);
  const b = await start(run, [], ['--experiment', experiment, '--clients', 'client-1,client-2,client-3', '--name', 'clients-b']);
  const scenario = (await loadScenario(experiment)) as Scenario<FedAvgExperimentResult>;
  const live = await runLive(scenario, { url: server!.url, run, seed: 4, placeClient: clientPlacements(scenario, experiment) });
  const message = String((live.outcome.error as Error)?.message);
  t.regex(message, /'client-1' is hosted by more than one fedsim worker process .*: clients-(a|b) and clients-(a|b) each created it/);
  t.true(message.includes('clients-a') && message.includes('clients-b'), message);
  t.regex(message, /--experiment \S+overlap\.yaml --clients client-1/);
  await droppedItsPart(a);
  await droppedItsPart(b);

  // The same from the command line (where the run used to hang): it fails, saying the same, and ends.
  const cli = await fedsim('run', experiment, '--transport', 'nats', '--nats', server!.url, '--run', run, '--clients-on-workers', '--out', join(dir, 'cli'));
  t.is(cli.code, EXIT_FAILED, cli.stdout + cli.stderr);
  t.regex(cli.stdout, /FAILED \(LiveTransportError: 'client-1' is hosted by more than one fedsim worker process .*: clients-(a|b) and clients-(a|b) each created it/);
});
