/**
 * Client training over NATS (src/fl/distributed/): runs whose clients train in `fedsim
 * train-worker` child processes on a real nats-server are the in-process run — the same
 * weights and event log, byte for byte — with 1 and 2 workers, and when a worker is killed
 * mid-round (its task's lease ends and another worker trains it).
 */
import test from 'ava';
import { Worker } from 'node:worker_threads';
import { encodeFrame } from '../src/fl/distributed/frame.js';
import { PROTOCOL_VERSION, subjects } from '../src/fl/distributed/protocol.js';
import { initBackend } from '../src/runtime/backend.js';
import { natsTrainingPool } from '../src/fl/distributed/nats-training-pool.js';
import type { TrainingPool } from '../src/fl/parallel/index.js';
import { startNatsServer, type RunningNatsServer } from './helpers/nats-server.js';
import { type RunningFedsim, startFedsim } from './helpers/fedsim-cli.js';
import { parallelOptions, parallelRun } from './helpers/parallel-world.js';
import { nn } from '../src/fl/models/index.js';

let server: RunningNatsServer;
const started: RunningFedsim[] = [];
const pools: TrainingPool[] = [];

test.before(async () => {
  await initBackend('cpu');
  server = await startNatsServer();
});

test.after.always(async () => {
  for (const worker of started) if (worker.child.exitCode === null) worker.child.kill('SIGTERM');
  await Promise.all(started.map((w) => w.ended.catch(() => {})));
  await Promise.all(pools.map((p) => p.close()));
  await server?.stop();
});

/** `fedsim train-worker` child processes on `subject` (one per test, so tests never share workers). */
function workers(subject: string, count: number, ...extra: string[]): RunningFedsim[] {
  return workersOn(server, subject, count, ...extra);
}

function workersOn(on: RunningNatsServer, subject: string, count: number, ...extra: string[]): RunningFedsim[] {
  const list = Array.from({ length: count }, () => watchAsking(startFedsim({}, 'train-worker', '--nats', on.url, '--subject', subject, '--backend', 'cpu', ...extra)));
  started.push(...list);
  return list;
}

async function pool(subject: string, leaseMs?: number, on: RunningNatsServer = server): Promise<TrainingPool> {
  const p = natsTrainingPool({ connection: { servers: on.url }, subject, ...(leaseMs !== undefined ? { leaseMs } : {}) });
  pools.push(p);
  await p.ready();
  return p;
}

const stopAll = async (list: RunningFedsim[]) => {
  for (const w of list) w.child.kill('SIGTERM');
  return Promise.all(list.map((w) => w.ended));
};

/** Resolves once `worker` has said it is asking for tasks (it is connected and about to ask); watched from its start. */
const askingOf = new WeakMap<RunningFedsim, Promise<void>>();
function watchAsking(worker: RunningFedsim): RunningFedsim {
  let seen = '';
  askingOf.set(
    worker,
    new Promise((resolve) => {
      const onData = (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('asking')) {
          worker.child.stderr!.off('data', onData);
          resolve();
        }
      };
      worker.child.stderr!.on('data', onData);
    }),
  );
  return worker;
}
const asking = (worker: RunningFedsim) => askingOf.get(worker)!;

for (const count of [1, 2]) {
  test.serial(`${count} worker process${count > 1 ? 'es' : ''}: the in-process run, every fit trained by a worker`, async (t) => {
    const subject = `fedsim.test.runs${count}`;
    const list = workers(subject, count);
    const remote = await pool(subject);
    // Every worker is up before the run (one still starting when the test stops it would print no summary).
    await Promise.all(list.map(asking));
    const options = parallelOptions({ rounds: 3 });
    t.deepEqual(await parallelRun(options, remote), await parallelRun(options, undefined));
    t.is(remote.stats.taken, 30, 'every fit was trained remotely');
    const ended = await stopAll(list);
    const trained = ended.map((e) => Number(/(\d+) tasks trained/.exec(e.stderr)?.[1] ?? NaN));
    t.is(trained.reduce((a, b) => a + b, 0), 30, ended.map((e) => e.stderr).join('\n'));
  });
}

test.serial('a worker killed mid-round (on its first task, before answering): the lease ends, another worker trains the task; the in-process run', async (t) => {
  const subject = 'fedsim.test.killed';
  const remote = await pool(subject, 1500);
  // Started and asking before the run, it is held for the first task of round 1, and dies on it.
  const [doomed] = workers(subject, 1, '--crash-on-task', '1');
  await asking(doomed);
  const healthy = workers(subject, 1);
  await asking(healthy[0]);
  const options = parallelOptions({ rounds: 2 });
  t.deepEqual(await parallelRun(options, remote), await parallelRun(options, undefined));
  const crashed = await doomed.ended;
  t.is(crashed.code, 70, crashed.stderr);
  t.regex(crashed.stderr, /crashing on task/);
  t.is(remote.stats.taken, 20, 'the task lost with the crashed worker was trained by the other one');
  await stopAll(healthy);
});

test.serial('tasks and results larger than the server\'s max_payload cross in parts: every fit trained by the worker; the in-process run', async (t) => {
  // 8 KB messages at most; the model's weights alone are 16.8 KB (10·300 + 300 + 300·3 + 3 floats).
  const small = await startNatsServer({ extraConfig: 'max_payload: 8192' });
  try {
    const subject = 'fedsim.test.parts';
    const [worker] = workersOn(small, subject, 1);
    const remote = await pool(subject, undefined, small);
    await asking(worker);
    const options = parallelOptions({ rounds: 2, model: nn.mlp([10, 300, 3]) });
    t.deepEqual(await parallelRun(options, remote), await parallelRun(options, undefined));
    t.is(remote.stats.taken, 20, 'every fit was trained by the worker, none fell back to the simulation\'s process');
    const [ended] = await stopAll([worker]);
    t.regex(ended.stderr, /20 tasks trained, 0 refused or failed/);
    t.notRegex(ended.stderr, /could not fetch/);
  } finally {
    await small.stop();
  }
});

test.serial('no worker at all: the first tasks wait one lease, then clients train in the simulation\'s process (later ones at once); the in-process run', async (t) => {
  const remote = await pool('fedsim.test.nobody', 300);
  const options = parallelOptions({ rounds: 2 });
  t.deepEqual(await parallelRun(options, remote), await parallelRun(options, undefined));
  t.is(remote.stats.failed, 20);
});

test.serial('forged results (right task ids, wrong task keys) sent all through a run are ignored: the in-process run', async (t) => {
  const subject = 'fedsim.test.forged';
  const list = workers(subject, 1);
  const remote = await pool(subject);
  await asking(list[0]);
  // A thread of this test (the test's own event loop is blocked while the run waits for results) sends a forged
  // result for every task id, over and over, until told to stop.
  const forged = Array.from({ length: 20 }, (_, id) =>
    encodeFrame({ v: PROTOCOL_VERSION, kind: 'result', worker: 'forger', id, key: 'f'.repeat(64), outcome: { kind: 'trained', result: { weights: [new Float32Array(12 * 10 + 12), new Float32Array(12)], numSamples: 1, meanLoss: 0, steps: 1, samplesSeen: 1 } } }),
  );
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const forger = new Worker(
    `const { workerData: { url, subject, forged, stop } } = require('node:worker_threads');
     import('@nats-io/transport-node').then(async ({ connect }) => {
       const nc = await connect({ servers: url });
       while (Atomics.load(stop, 0) === 0) {
         for (const body of forged) nc.publish(subject, body);
         await nc.flush();
         await new Promise((resolve) => setTimeout(resolve, 5));
       }
       await nc.close();
     });`,
    { eval: true, workerData: { url: server.url, subject: subjects(subject).result, forged, stop } },
  );
  const options = parallelOptions({ rounds: 2 });
  try {
    t.deepEqual(await parallelRun(options, remote), await parallelRun(options, undefined));
    t.is(remote.stats.taken, 20);
  } finally {
    Atomics.store(stop, 0, 1);
    await new Promise((resolve) => forger.once('exit', resolve));
    await stopAll(list);
  }
});
