/**
 * FL clients on `fedsim worker` processes (issue #18): a small FedAvg experiment runs live
 * on a real nats-server with its four clients on two worker processes (`--experiment FILE
 * --clients …`) and its server in the driver. Each client's training is a pure function of
 * the weights, the client, the round and the seed, so the live run ends with the weights of
 * the in-process simulation, bit for bit, however the network ordered things. A worker
 * process killed (SIGKILL) in the middle of a round is that round's dropout: the run
 * completes, its clients are reported dropped. A worker whose experiment file is not the
 * driver's refuses, saying so.
 * The recording of a run whose workers all lived replays in the simulator.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientPlacements } from '../src/fl/experiments/placed-clients.js';
import type { FedAvgExperimentResult } from '../src/fl/experiments/fedavg-experiment.js';
import { FL } from '../src/fl/rounds/protocol.js';
import { loadScenario, runScenario, type Scenario } from '../src/scenario/index.js';
import '../src/fl/experiments/register.js';
import { fedsim } from './helpers/fedsim-cli.js';
import { type LiveWorker, replayInSimulator, runLive, startWorker } from './helpers/live-worker.js';
import { type RunningNatsServer, startNatsServer } from './helpers/nats-server.js';
import { ready } from './helpers/pointers.js';
import { smallMlpExperimentFile } from './helpers/tiny-experiment.js';

const RUN = `fl-clients-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'fedsim-live-fl-'));
/** A generous deadline: no live client misses it, so every round aggregates all four, as the simulation does. */
const experiment = join(dir, 'live-fedavg.yaml');
writeFileSync(experiment, smallMlpExperimentFile({ name: 'live-fedavg', seed: 4, rounds: 2 }) + 'roundDeadlineMs: 120000\n');

let server: RunningNatsServer | undefined;
const workers: LiveWorker[] = [];
/** Worker A hosts client-0 and client-1, worker B the others. */
const startPair = async (run: string, file: string, names: [string, string]) => {
  const a = await startWorker(server!.url, [], run, ['--experiment', file, '--clients', 'client-0,client-1', '--name', names[0]]);
  const b = await startWorker(server!.url, [], run, ['--experiment', file, '--clients', 'client-2,client-3', '--name', names[1]]);
  workers.push(a, b);
  return [a, b] as const;
};

test.before(async () => {
  await ready();
  server = await startNatsServer();
});

test.after.always(async () => {
  for (const worker of workers) await worker.stop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test.serial('a FedAvg experiment runs live with its clients on two worker processes and ends with the simulation\'s weights, in the library and from the CLI', async (t) => {
  await startPair(RUN, experiment, ['worker-a', 'worker-b']);
  const scenario = (await loadScenario(experiment)) as Scenario<FedAvgExperimentResult>;
  const simulated = await runScenario(scenario, {});
  t.true(simulated.ok, String(simulated.error ?? simulated.failures.map((f) => f.message).join('; ')));

  const live = await runLive(scenario, { url: server!.url, run: RUN, seed: 4, placeClient: clientPlacements(scenario, experiment) });
  t.is(live.outcome.error, undefined, String(live.outcome.error));
  t.true(live.outcome.ok);
  const result = live.outcome.result!;
  t.is(result.weightsSha256, simulated.result!.weightsSha256, 'the live run trains exactly what the simulation trains');
  t.deepEqual(result.perRound.map((r) => [r.round, r.participants, r.dropped]), [[1, 4, 0], [2, 4, 0]]);
  // The clients ran in the worker processes, the server in the driver.
  const header = live.log!.header as { hosts: Array<{ host: string; actors: string[] }> };
  t.deepEqual(header.hosts.map((h) => [h.host, [...h.actors].sort()]).sort(), [['driver', ['me', 'server']], ['worker-a', ['client-0', 'client-1']], ['worker-b', ['client-2', 'client-3']]]);
  const events = live.text!.trim().split('\n').slice(1).map((line) => JSON.parse(line) as { ev: string; host: string; type?: string; to?: string });
  t.true(events.some((e) => e.ev === 'delivered' && e.type === FL.fit && e.host === 'worker-b' && e.to === 'client-3'));
  // The recording replays in the simulator, every message compared (the clients rebuilt in process from the file).
  const replay = await replayInSimulator(scenario, live.log!);
  t.is(replay.error, undefined, String(replay.error));
  t.is(replay.result!.weightsSha256, result.weightsSha256);

  // The same from the command line: a second live run of the seed gives the same weights, and results.json says so.
  const out = join(dir, 'cli');
  const cli = await fedsim('run', experiment, '--transport', 'nats', '--nats', server!.url, '--run', RUN, '--clients-on-workers', '--out', out);
  t.is(cli.code, 0, cli.stdout + cli.stderr);
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  t.true(results.ok);
  t.is(results.result.weightsSha256, result.weightsSha256, 'two live runs of one seed end with the same weights');
  t.is(results.result.weightsSha256, simulated.result!.weightsSha256);
});

test.serial('a worker process killed (SIGKILL) mid-round is that round\'s dropout: the run completes, reports its clients dropped there and in the next round (as crashed clients)', async (t) => {
  const run = `${RUN}-kill`;
  const file = join(dir, 'kill.yaml');
  // A short deadline: the round waits this long for the killed clients (their fit retries go at a quarter of it).
  writeFileSync(file, smallMlpExperimentFile({ name: 'live-kill', seed: 4, rounds: 3 }) + 'roundDeadlineMs: 8000\nminClients: 2\n');
  const [, victim] = await startPair(run, file, ['kill-a', 'kill-b']);
  const scenario = (await loadScenario(file)) as Scenario<FedAvgExperimentResult>;
  let killed = false;
  const live = await runLive(scenario, {
    url: server!.url,
    run,
    seed: 4,
    placeClient: clientPlacements(scenario, file),
    // Killed the moment the server sends round 2's fit to one of its clients, before that frame leaves this process.
    onSimulation: (sim) =>
      sim.eventsOf('sent').subscribe((event) => {
        if (!killed && event.type === FL.fit && event.to === 'client-2' && (event.envelope.payload as { round: number }).round === 2) {
          killed = true;
          void victim.kill();
        }
      }),
  });
  t.true(killed);
  t.is(live.outcome.error, undefined, String(live.outcome.error));
  const result = live.outcome.result!;
  t.is(result.rounds, 3);
  // Round 2, in which the process died, and round 3, which selects its clients again (as a crashed client is
  // selected in simulation): they are dropped at the deadline, and each round aggregates the two clients left.
  for (const round of [2, 3]) {
    const rows = result.perClient.filter((row) => row.round === round);
    t.deepEqual(rows.filter((row) => row.status === 'dropped').map((row) => [row.client, row.drop]), [['client-2', 'deadline'], ['client-3', 'deadline']], `round ${round}`);
    t.deepEqual(rows.filter((row) => row.status === 'participant').map((row) => row.client), ['client-0', 'client-1'], `round ${round}`);
    const summary = result.perRound.find((r) => r.round === round)!;
    t.is(summary.dropped, 2);
    t.falsy(summary.skipped, `round ${round} aggregated the two clients left`);
  }
  // The driver saw the process go and recorded the fit retries to its clients as lost with it.
  const events = live.text!.trim().split('\n').slice(1).map((line) => JSON.parse(line) as { ev: string; label?: string; data?: { host: string; actors: string[] }; reason?: string; goneHost?: string; to?: string });
  const gone = events.find((e) => e.ev === 'mark' && e.label === 'host-gone');
  t.deepEqual(gone?.data, { host: 'kill-b', actors: ['client-2', 'client-3'] });
  const lost = events.filter((e) => e.ev === 'dropped' && e.reason === 'host-gone');
  t.true(lost.every((e) => e.goneHost === 'kill-b' && (e.to === 'client-2' || e.to === 'client-3')));
  // Round 3's fits to them, at least, went nowhere (and round 2's retries, if any came after the host check).
  t.deepEqual([...new Set(lost.map((e) => e.to))].sort(), ['client-2', 'client-3']);
  // The recording has the driver's and the surviving worker's parts (the killed one's died with it).
  t.deepEqual((live.log!.header as { hosts: Array<{ host: string }> }).hosts.map((h) => h.host).sort(), ['driver', 'kill-a']);
});

test.serial('a worker process killed after the last round, before its recording is collected: the run stands, without that part of the recording', async (t) => {
  const run = `${RUN}-late-kill`;
  const [, victim] = await startPair(run, experiment, ['late-a', 'late-b']);
  const scenario = (await loadScenario(experiment)) as Scenario<FedAvgExperimentResult>;
  const simulated = await runScenario(scenario, {});
  const live = await runLive(scenario, {
    url: server!.url,
    run,
    seed: 4,
    placeClient: clientPlacements(scenario, experiment),
    // Every round is over: the process dies between the result and the collection of the recordings.
    beforeRecord: () => victim.kill(),
  });
  t.is(live.outcome.error, undefined, String(live.outcome.error));
  t.is(live.outcome.result!.weightsSha256, simulated.result!.weightsSha256, 'the results were made before the process died');
  t.deepEqual((live.log!.header as { hosts: Array<{ host: string }> }).hosts.map((h) => h.host).sort(), ['driver', 'late-a']);
  const events = live.text!.trim().split('\n').slice(1).map((line) => JSON.parse(line) as { ev: string; label?: string; data?: { host: string } });
  t.is(events.find((e) => e.ev === 'mark' && e.label === 'host-gone')?.data?.host, 'late-b');
});

test.serial('a worker whose experiment file differs from the driver\'s refuses to host its clients, saying what differs and what to do', async (t) => {
  const run = `${RUN}-refuse`;
  const other = join(dir, 'other.yaml');
  // The same settings in another text (a comment more): the file's bytes are what the worker checks first.
  writeFileSync(other, readFileSync(experiment, 'utf8') + '# edited\n');
  await startPair(run, other, ['other-a', 'other-b']);
  const scenario = (await loadScenario(experiment)) as Scenario<FedAvgExperimentResult>;
  const live = await runLive(scenario, { url: server!.url, run, seed: 4, placeClient: clientPlacements(scenario, experiment) });
  const message = String((live.outcome.error as Error)?.message);
  t.regex(message, /The fedsim worker that hosts 'client-\d' refused to create it: cannot host FL client 'client-\d' of .*live-fedavg\.yaml: this worker's experiment file .*other\.yaml differs from the driver's \(sha256 [0-9a-f]{12} here, [0-9a-f]{12} there\); give both the same file/);
  // No worker at all on a run: the error says which command starts one.
  const none = await runLive(scenario, { url: server!.url, run: `${RUN}-none`, seed: 4, placeClient: clientPlacements(scenario, experiment) });
  t.regex(String((none.outcome.error as Error)?.message), /No fedsim worker hosts 'client-\d' .*Start one that does: fedsim worker --nats nats:\S+ --experiment \S+live-fedavg\.yaml --clients client-\d --run fl-clients-\d+-none/);
});

test.serial('--clients-on-workers is for FL experiments in live runs: elsewhere it is a usage error', async (t) => {
  const notLive = await fedsim('run', experiment, '--clients-on-workers', '--out', join(dir, 'x'));
  t.is(notLive.code, 2);
  t.regex(notLive.stderr, /--clients-on-workers applies to live runs only: add --transport nats/);
  const notFl = await fedsim('run', 'scenarios/ping-pong.ts', '--transport', 'nats', '--nats', server!.url, '--clients-on-workers', '--out', join(dir, 'y'));
  t.is(notFl.code, 2);
  t.regex(notFl.stderr, /--clients-on-workers: 'ping-pong' is not an FL experiment file \(kind: fedavg\)/);
});
