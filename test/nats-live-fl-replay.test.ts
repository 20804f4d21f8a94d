/**
 * Record live, replay in the simulator, for FL: a small FedAvg experiment (3 clients, 2 rounds,
 * a logistic model) runs live on a real nats-server and its recording replays without
 * divergence — round deadlines, fit retries and the times a round's report carries included
 * — with `fedsim replay` and through the API; a changed client makes the replay diverge at
 * its first fit reply.
 */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../src/cli/experiment-kinds.js';
import { plainLocalTraining } from '../src/fl/algorithms/client-algorithm.js';
import { initBackend } from '../src/runtime/backend.js';
import { DivergenceError, type RecordedLog } from '../src/runtime/index.js';
import { loadScenario, runScenario, type Scenario } from '../src/scenario/index.js';
import { ROOT, fedsim, tempDir } from './helpers/fedsim-cli.js';
import { type LiveWorker, runLive, startWorker } from './helpers/live-worker.js';
import { type RunningNatsServer, startNatsServer } from './helpers/nats-server.js';

const RUN = `fl-replay-${process.pid}`;
const EXPERIMENT = 'scenarios/experiments/synthetic-fedavg.yaml';
const SMALL = { rounds: 2, 'data.devices': 3, fraction: 1, localEpochs: 1 };
/** client-1's updates never reach the server: each round ends at its deadline (fit retries before it). */
const LOST_UPDATES = { links: [{ from: 'client-1', to: 'server', drop: 1 }] };

let server: RunningNatsServer | undefined;
const workers: LiveWorker[] = [];
test.before(async () => {
  await initBackend();
  server = await startNatsServer();
});
test.after.always(async () => {
  for (const worker of workers) await worker.stop();
  await server?.stop();
});

type PerRound = Array<{ round: number; durationMs: number; endedAt: number; participants: number; drops: Record<string, number> }>;
const perRound = (result: unknown) => (result as { perRound: PerRound }).perRound;

const experiment = (params: Record<string, unknown>) => loadScenario(join(ROOT, EXPERIMENT), { params: { ...SMALL, ...params } });

async function runLiveExperiment(scenario: Scenario<unknown>, faults?: object): Promise<{ result: unknown; log: RecordedLog }> {
  const live = await runLive(scenario, { url: server!.url, run: RUN, seed: 0, faults });
  if (live.outcome.error !== undefined) throw live.outcome.error;
  return { result: live.outcome.result, log: live.log! };
}

const replay = (scenario: Scenario<unknown>, log: RecordedLog) => runScenario(scenario, { seed: log.header.seed as number, follow: log });

test.serial('a FedAvg experiment run live replays in the simulator: the same messages, timers and round reports (durations, end times), twice the same log', async (t) => {
  const scenario = await experiment({});
  const live = await runLiveExperiment(scenario);
  const first = await replay(scenario, live.log);
  t.is(first.error, undefined, String(first.error));
  t.deepEqual(perRound(first.result), perRound(live.result), 'every round report, times included, as computed live');
  // Every step at the time it happened live.
  const steps = (events: ReadonlyArray<{ ev: string; t: number }>) => events.filter((e) => e.ev === 'delivered' || e.ev === 'timer').map((e) => `${e.ev}@${e.t}`);
  t.deepEqual(steps(first.sim.log.events), steps(live.log.events));
  const second = await replay(scenario, live.log);
  t.is(first.sim.log.toJSONL(), second.sim.log.toJSONL(), 'replaying one recording is deterministic');
});

test.serial('a live fault in the recording (a client whose updates are lost): the deadline and retry timers fire in the replay where they fired live', async (t) => {
  const scenario = await experiment({ roundDeadlineMs: 1000 });
  const live = await runLiveExperiment(scenario, LOST_UPDATES);
  t.deepEqual(perRound(live.result).map((r) => [r.round, r.participants, r.drops.deadline]), [[1, 2, 1], [2, 2, 1]]);
  const serverTimers = live.log.events.filter((e) => e.ev === 'timer' && e.actor === 'server');
  t.true(serverTimers.length >= 2, 'at least each round deadline fired live');
  t.true(live.log.events.some((e) => e.ev === 'dropped' && e.from === 'client-1' && e.reason === 'fault'));
  const replayed = await replay(scenario, live.log);
  t.is(replayed.error, undefined, String(replayed.error));
  t.deepEqual(perRound(replayed.result), perRound(live.result));
  t.deepEqual(
    replayed.sim.log.events.filter((e) => e.ev === 'timer').map((e) => e.t),
    serverTimers.map((e) => e.t),
  );
});

test.serial('a changed client (its training step altered) makes the replay diverge at the first fit reply, with its seq', async (t) => {
  const scenario = await experiment({});
  const live = await runLiveExperiment(scenario);
  const firstFitReply = live.log.events.find((e) => e.ev === 'sent' && e.type === 'fl/fit-result')!;
  // The changed client: its update moves the first weight a little further than training did.
  plainLocalTraining.afterTraining = (_ins, trained) => ({ weights: trained.weights.map((w, i) => (i === 0 ? w.map((v, j) => (j === 0 ? v + 0.5 : v)) : w)) });
  let outcome;
  try {
    outcome = await replay(scenario, live.log);
  } finally {
    delete plainLocalTraining.afterTraining;
  }
  t.true(outcome.error instanceof DivergenceError, String(outcome.error));
  const divergence = (outcome.error as DivergenceError).divergence;
  t.is(divergence.seq, firstFitReply.seq);
  t.regex((outcome.error as Error).message, new RegExp(`diverged at seq ${firstFitReply.seq}:`));
  t.is(JSON.parse(divergence.actual!).msg, firstFitReply.msg);
  t.not(JSON.parse(divergence.actual!).digest, firstFitReply.digest);
});

test.serial('fedsim replay reproduces a live FedAvg run whose client updates were lost (fedsim run --transport nats, then fedsim replay of its directory)', async (t) => {
  const dir = tempDir(t, 'fedsim-live-fl-replay-');
  const faults = join(dir, 'faults.json');
  writeFileSync(faults, JSON.stringify(LOST_UPDATES));
  const out = join(dir, 'out');
  const settings = Object.entries({ ...SMALL, roundDeadlineMs: 1000 }).flatMap(([key, value]) => ['--set', `${key}=${value}`]);
  const run = await fedsim('run', EXPERIMENT, ...settings, '--faults', faults, '--transport', 'nats', '--nats', server!.url, '--run', RUN, '--out', out);
  t.is(run.code, 0, run.stdout + run.stderr);
  const recording = readFileSync(join(out, 'run.jsonl'), 'utf8');
  t.regex(recording, /"ev":"timer","actor":"server"/);
  // The run directory stands for its run.jsonl.
  const replayed = await fedsim('replay', out);
  t.is(replayed.code, 0, replayed.stdout + replayed.stderr);
  t.regex(replayed.stdout, /replay OK: the simulator reproduced every message of the live recording .*run\.jsonl \(\d+ events\) in its causal order/);
});

/** Clients on two worker processes; the partition cuts the server off from one client of each for a while (rounds start within ms of the run; 15 of them outlast the partition). */
const PARTITIONED_EXPERIMENT = `kind: fedavg
name: live-partition-replay
seed: 3
data: { source: synthetic, alpha: 1, beta: 1, devices: 20, features: 8, classes: 3, maxSamplesPerDevice: 40 }
model: { kind: logistic, inputs: 8, classes: 3 }
rounds: 15
fraction: 1
localEpochs: 3
batchSize: 5
lr: 0.1
roundDeadlineMs: 1500
minClients: 2
`;
const PARTITION = { partitions: [{ groups: [['server'], ['client-03', 'client-13']], from: 300, until: 900 }] };

test.serial('fedsim replay reproduces a live run with its clients on workers and a partition: the fit retries\' timer causes are compared by the firing they name, not by process-local timer ids', async (t) => {
  const dir = tempDir(t, 'fedsim-live-partition-replay-');
  const file = join(dir, 'exp.yaml');
  writeFileSync(file, PARTITIONED_EXPERIMENT);
  const faults = join(dir, 'part.json');
  writeFileSync(faults, JSON.stringify(PARTITION));
  const run = `${RUN}-partition`;
  for (const clients of ['client-0*', 'client-1*']) workers.push(await startWorker(server!.url, [], run, ['--experiment', file, '--clients', clients]));
  const out = join(dir, 'out');
  const live = await fedsim('run', file, '--transport', 'nats', '--nats', server!.url, '--run', run, '--clients-on-workers', '--faults', faults, '--out', out);
  t.is(live.code, 0, live.stdout + live.stderr);
  const recording = readFileSync(join(out, 'run.jsonl'), 'utf8');
  t.regex(recording, /"reason":"partition"/, 'the partition cut messages off live');
  t.regex(recording, /"type":"fl\/fit","digest":"\w+","cause":"timer:\d+"/, 'the server retried a fit (a message caused by a timer)');
  const replayed = await fedsim('replay', out, '--project', dir);
  t.is(replayed.code, 0, replayed.stdout + replayed.stderr);
  t.regex(replayed.stdout, /replay OK/);
});
