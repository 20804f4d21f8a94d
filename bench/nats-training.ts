/**
 * Client training over NATS (`fedsim run --train-nats`, src/fl/distributed/): the workers
 * benchmark's FedAvg experiment — 10 clients training McMahan's 2NN on 600 synthetic samples
 * each, B = 10, E = 1, 5 rounds a run — trained in-process and in 1, 2 and 4 `fedsim
 * train-worker` processes on a local nats-server (started here on a free loopback port with
 * `max_payload: 8MB` (a client's 1.9 MB data set then crosses in one message instead of parts). Workers are started, and have said
 * they are asking for tasks, before the timing; the first round of each run sends every
 * client's data to the workers (once), later rounds only the round's weights. Every run must
 * end on the in-process weights digest, or the benchmark fails.
 *
 *   npm run bench -- nats-training        (needs nats-server: apt-get install nats-server)
 *
 * On this 2-core machine the ceiling is the same as for threads (2 cores, and the simulation's
 * process takes a share); what NATS adds is a copy of each task and result through the
 * server and the frame encoding. On C cores (or machines) with K clients a round, expect
 * min(C, K, workers) less the serial part of a round (the simulation's thread: aggregation,
 * checks, the round's messages) and the weights' transfer (≈ 2 × model size per task on the wire).
 */
import { performance } from 'node:perf_hooks';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { initBackend, describeBackend } from '../src/runtime/backend.js';
import { SimulationCore } from '../src/runtime/index.js';
import { runFederated } from '../src/fl/rounds/index.js';
import type { TrainingPool } from '../src/fl/parallel/index.js';
import { natsTrainingPool } from '../src/fl/distributed/nats-training-pool.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { type RunningFedsim, startFedsim } from '../test/helpers/fedsim-cli.js';
import { table } from './timing.js';
import { CLIENTS, SAMPLES, syntheticClients, twoNnRun } from './two-nn-clients.js';

const ROUNDS = Number(process.env.NATS_BENCH_ROUNDS ?? 5);
const REPEATS = Number(process.env.NATS_BENCH_REPEATS ?? 2);
const WORKERS = [1, 2, 4] as const;

function asking(worker: RunningFedsim): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      if (chunk.toString().includes('asking')) {
        worker.child.stderr!.off('data', onData);
        resolve();
      }
    };
    worker.child.stderr!.on('data', onData);
    void worker.ended.then((e) => reject(new Error(`a training worker exited before asking for tasks: ${e.stderr}`)));
  });
}

export const benchmark = {
  name: 'nats-training',
  title: 'FedAvg round of 10 2NN clients trained in-process and in 1, 2, 4 `fedsim train-worker` processes over NATS',
  async run(): Promise<string> {
    await initBackend();
    const backend = describeBackend();
    const clients = syntheticClients();
    const server = await startNatsServer({ extraConfig: 'max_payload: 8MB' });
    const run = async (pool: TrainingPool | undefined) => {
      const sim = new SimulationCore({ seed: 1, keepLog: false });
      const started = performance.now();
      const result = await runFederated(sim, { ...twoNnRun(clients, ROUNDS), ...(pool ? { workers: pool } : {}) });
      return { seconds: (performance.now() - started) / 1000 / ROUNDS, digest: result.weightsSha256 };
    };
    const loadBefore = loadavg()[0];
    const times = new Map<string, number[]>();
    const remoteShare = new Map<string, string>();
    const digests = new Set<string>();
    try {
      await run(undefined); // warm-up
      for (let r = 0; r < REPEATS; r++) {
        const local = await run(undefined);
        digests.add(local.digest);
        times.set('in-process', [...(times.get('in-process') ?? []), local.seconds]);
        for (const count of WORKERS) {
          const subject = `fedsim.bench.w${count}r${r}`;
          const pool = natsTrainingPool({ connection: { servers: server.url }, subject });
          await pool.ready();
          const workers = Array.from({ length: count }, () => startFedsim({}, 'train-worker', '--nats', server.url, '--subject', subject, '--backend', backend.name));
          try {
            await Promise.all(workers.map(asking));
            const remote = await run(pool);
            digests.add(remote.digest);
            const label = `${count} worker${count > 1 ? 's' : ''}`;
            times.set(label, [...(times.get(label) ?? []), remote.seconds]);
            remoteShare.set(label, `${pool.stats.taken}/${pool.stats.taken + pool.stats.failed}`);
          } finally {
            for (const w of workers) w.child.kill('SIGTERM');
            await Promise.all(workers.map((w) => w.ended));
            await pool.close();
          }
        }
      }
    } finally {
      await server.stop();
    }
    if (digests.size !== 1) throw new Error(`nats-training bench: the runs ended on ${digests.size} different weights digests: ${[...digests].join(', ')}`);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const base = median(times.get('in-process')!);
    const rows = [...times].map(([label, xs]) => ({
      training: label,
      'round (s)': median(xs).toFixed(2),
      'vs in-process': `${(base / median(xs)).toFixed(2)}×`,
      'trained remotely (last run)': remoteShare.get(label) ?? '—',
      'every run (s)': xs.map((x) => x.toFixed(2)).join(' '),
    }));
    return [
      table(rows),
      '',
      `Load average (1 min) ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after, on ${availableParallelism()} cores (${cpus()[0]?.model ?? 'cpu'}): the workers, the simulation and nats-server share them.`,
      `${CLIENTS} clients × ${SAMPLES} samples, B = 10, E = 1, ${ROUNDS} rounds a run (the time per round, workers already started); backend ${backend.name} ${backend.version}; median of ${REPEATS}.`,
      `Weights digest, the same in every run: ${[...digests][0].slice(0, 16)}…`,
    ].join('\n');
  },
};
