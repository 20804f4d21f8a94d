/**
 * Clients trained in worker threads (`--workers N`, src/fl/parallel/): one FedAvg round of
 * 10 clients training McMahan's 2NN (784-200-200-10) on 600 synthetic samples each (B = 10,
 * E = 1), with 1 (no pool), 2 and 4 threads. Each thread count's pool is started before the
 * timing (threads take seconds to load tfjs); repetitions are interleaved across thread
 * counts, so a load change on the machine hits them alike; the figure is the median. Every
 * run must end on the same weights digest, or the benchmark fails.
 *
 *   npm run bench -- workers
 *
 * What to expect: a round's wall time is its slowest thread's share of the 10 trainings,
 * plus the simulation's own work (sending, digests, aggregation) on the main thread, so the
 * speed-up is about min(N, cores, 10) with 10 equal clients — on 2 cores, near 2× for N = 2
 * and no more for N = 4 (4 threads share 2 cores). With C cores and K clients a round, the
 * ceiling is min(C, K) less the main thread's serial part.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { initBackend, describeBackend } from '../src/runtime/backend.js';
import { SimulationCore } from '../src/runtime/index.js';
import { runFederated } from '../src/fl/rounds/index.js';
import { TrainingPool } from '../src/fl/parallel/index.js';
import { table } from './timing.js';
import { CLIENTS, SAMPLES, syntheticClients, twoNnRun } from './two-nn-clients.js';

const REPEATS = Number(process.env.WORKERS_BENCH_REPEATS ?? 3);
const THREADS = [1, 2, 4] as const;
/** Rounds per run: a run's set-up (actors, the initial model) is serial, so one round alone would overstate it. */
const ROUNDS = Number(process.env.WORKERS_BENCH_ROUNDS ?? 5);
const EPOCHS = Number(process.env.WORKERS_BENCH_EPOCHS ?? 1);

/**
 * CPU time of the main (simulation) thread in ms, from Linux's per-thread counters (undefined
 * elsewhere): schedstat's nanoseconds, or stat's 10 ms ticks on a kernel without it. With the whole
 * process's CPU time it splits a round into its serial part (the simulation's thread) and its
 * parallel part (the worker threads), whatever the load: wall times on a busy machine say little,
 * CPU times still add up.
 */
function mainThreadCpuMs(): number | undefined {
  try {
    const onCpuNs = Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
    if (onCpuNs > 0) return onCpuNs / 1e6;
  } catch {
    // no schedstat: the ticks below
  }
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime, fields 14 and 15 of stat (here 11 and 12: counted after the command name), in 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

const processCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

export const benchmark = {
  name: 'workers',
  title: 'One FedAvg round of 10 2NN clients trained in 1, 2 and 4 worker threads (--workers)',
  async run(): Promise<string> {
    await initBackend();
    const clients = syntheticClients();
    const pools = new Map<number, TrainingPool>();
    for (const n of THREADS) if (n > 1) pools.set(n, new TrainingPool(n));
    await Promise.all([...pools.values()].map((p) => p.ready()));
    const round = async (n: number) => {
      const sim = new SimulationCore({ seed: 1, keepLog: false });
      const mainBefore = mainThreadCpuMs();
      const allBefore = processCpuMs();
      const started = performance.now();
      const result = await runFederated(sim, { ...twoNnRun(clients, ROUNDS, EPOCHS), ...(n > 1 ? { workers: pools.get(n)! } : {}) });
      const seconds = (performance.now() - started) / 1000 / ROUNDS;
      const mainAfter = mainThreadCpuMs();
      const main = mainBefore === undefined || mainAfter === undefined ? undefined : (mainAfter - mainBefore) / ROUNDS;
      return { seconds, main, all: (processCpuMs() - allBefore) / ROUNDS, digest: result.weightsSha256 };
    };
    try {
      const times = new Map<number, number[]>(THREADS.map((n) => [n, []]));
      const cpu = new Map<number, { main: number[]; all: number[] }>(THREADS.map((n) => [n, { main: [], all: [] }]));
      const loadBefore = loadavg()[0];
      const digests = new Set<string>();
      await round(1); // warm-up: JIT, the scratch model
      for (let r = 0; r < REPEATS; r++) {
        for (const n of THREADS) {
          const { seconds, main, all, digest } = await round(n);
          times.get(n)!.push(seconds);
          if (main !== undefined) cpu.get(n)!.main.push(main);
          cpu.get(n)!.all.push(all);
          digests.add(digest);
        }
      }
      if (digests.size !== 1) throw new Error(`workers bench: the runs ended on ${digests.size} different weights digests: ${[...digests].join(', ')}`);
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const base = median(times.get(1)!);
      const rows = THREADS.map((n) => {
        const s = median(times.get(n)!);
        return {
          threads: n === 1 ? '1 (no pool)' : String(n),
          'round (s)': s.toFixed(2),
          'samples/s': Math.round((CLIENTS * SAMPLES) / s).toLocaleString('en-US'),
          'vs 1 thread': `${(base / s).toFixed(2)}×`,
          'every run (s)': times.get(n)!.map((x) => x.toFixed(2)).join(' '),
          'CPU: simulation thread (ms)': cpu.get(n)!.main.length > 0 ? median(cpu.get(n)!.main).toFixed(0) : 'n/a',
          'CPU: all threads (ms)': median(cpu.get(n)!.all).toFixed(0),
        };
      });
      // Amdahl on 2 threads, from CPU times (load-independent): the simulation thread's work does not overlap
      // the training much (it waits for the round's results), the threads' work splits in two.
      const two = cpu.get(2)!;
      const amdahl = two.main.length > 0
        ? (() => {
            const serial = median(two.main);
            const parallel = median(two.all) - serial;
            const one = median(cpu.get(1)!.all);
            return `Amdahl, 2 threads, from CPU time per round: ${serial.toFixed(0)} ms on the simulation's thread (serial) + ${parallel.toFixed(0)} ms in the worker threads (parallel); one thread does it all in ${one.toFixed(0)} ms, so on 2 idle cores a round takes ≥ ${(serial + parallel / 2).toFixed(0)} ms: at most ${(one / (serial + parallel / 2)).toFixed(2)}×.`;
          })()
        : 'Amdahl: per-thread CPU time is read from /proc (Linux only).';
      const backend = describeBackend();
      return [
        table(rows),
        '',
        `Load average (1 min) ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after, on ${availableParallelism()} cores: other jobs on the machine take cores the threads would use.`,
        `${CLIENTS} clients × ${SAMPLES} samples, B = 10, E = ${EPOCHS}, ${ROUNDS} rounds a run (the time per round); backend ${backend.name} ${backend.version} (${backend.detail}); ${availableParallelism()} cores (${cpus()[0]?.model ?? 'cpu'}); median of ${REPEATS}, interleaved.`,
        `Weights digest, the same in every run: ${[...digests][0].slice(0, 16)}…`,
        amdahl,
      ].join('\n');
    } finally {
      await Promise.all([...pools.values()].map((p) => p.close()));
    }
  },
};
