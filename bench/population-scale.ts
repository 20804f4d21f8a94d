/**
 * Issue #16 (scale): a million registered clients in one process.
 *
 *  - memory: heap (and typed-array memory) after registering a population of N idle
 *    clients with runFederated's lazy source (the run built and started, no round run
 *    yet) minus before, divided by N, at N = 1e3, 1e5, 1e6; and the marginal cost per
 *    client between 1e3 and 1e6 (without the run's fixed part: model, server, workspace).
 *    Target ≤ 1 KB per idle client.
 *  - time: wall time of a round of 100 selected clients with 1e3 vs 1e6 registered (the
 *    same seed, model and data function; rounds after the first, several runs alternated,
 *    median), as a ratio. Target ≤ 1.20.
 *
 *   npm run bench -- population-scale
 *
 * V8's gc is exposed at run time (collectGarbage in bench/timing.ts, as bench/runtime-deliveries.ts
 * does), so the bench needs no node flag.
 */
import { performance } from 'node:perf_hooks';
import { nn } from '../src/fl/models/index.js';
import { type ClientData, FL, type FederatedOptions, type LazyClients, runFederated } from '../src/fl/rounds/index.js';
import { initBackend } from '../src/runtime/backend.js';
import { SimulationCore, createStream } from '../src/runtime/index.js';
import { collectGarbage, table } from './timing.js';
import { devicePopulationFrom } from '../src/fl/devices/device-population.js';
import { DevicesSettingsSchema } from '../src/fl/devices/devices-settings.js';
import type { DevicePopulation } from '../src/fl/devices/population.js';
import { lazyRoster } from '../src/fl/rounds/client-source.js';

/**
 * Devices of the runs "with devices": drawn profiles and a generated 2-day diurnal trace, as an
 * experiment file's `devices:` block would give them (docs/devices.md).
 */
function devicesFor(count: number): DevicePopulation {
  const settings = {
    profiles: {
      samplesPerSecond: { kind: 'lognormal' as const, median: 20, sigma: 1 },
      uploadBytesPerSecond: { kind: 'tiers' as const, tiers: [{ value: 125_000, weight: 3 }, { value: 2_500_000, weight: 1 }] },
      downloadBytesPerSecond: 2_500_000,
      latencyMs: { kind: 'uniform' as const, min: 20, max: 200 },
    },
    availability: { diurnal: { days: 2 } },
  };
  const ids = lazyRoster(population(count)).ids;
  return devicePopulationFrom(DevicesSettingsSchema.parse(settings), ids, { rng: (name) => createStream(5, name) }, '.');
}

const FEATURES = 20;
const CLASSES = 4;
const SAMPLES = 20;
const PER_ROUND = 100;
const ROUNDS = 10;
const RUNS = 5;
const spec = nn.logistic(FEATURES, CLASSES);

/** Client `index`'s data: a function of the index alone (a seeded stream named after it). */
function clientData(index: number): ClientData {
  const rng = createStream(16, `bench/population/${index}`);
  const x = new Float32Array(SAMPLES * FEATURES);
  const y = new Int32Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    y[i] = rng.int(CLASSES);
    for (let j = 0; j < FEATURES; j++) x[i * FEATURES + j] = rng.next() + (j % CLASSES === y[i] ? 1 : 0);
  }
  return { x, y };
}

const population = (count: number): LazyClients => ({ count, data: clientData, maxSamplesPerClient: SAMPLES });

const options = (count: number, rounds: number, devices?: DevicePopulation): FederatedOptions => ({
  ...(devices ? { devices } : {}),
  model: spec,
  clients: population(count),
  rounds,
  // Exactly PER_ROUND clients a round whatever the population (⌈C·N⌉ = 1, raised to minClients).
  fraction: 1e-9,
  minClients: PER_ROUND,
  localEpochs: 1,
  batchSize: 10,
  lr: 0.1,
  roundDeadlineMs: 10_000,
});


const memory = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/** Keeps what a measurement built alive until after the second reading. */
let sink: unknown;

/** Bytes a registered population of `count` idle clients takes: the run built and started, no round yet. */
async function populationBytes(count: number, withDevices = false): Promise<{ bytes: number; setupMs: number }> {
  await collectGarbage();
  const before = memory();
  const start = performance.now();
  const sim = new SimulationCore({ seed: 1 });
  // (The devices are built from an id list of their own: it is counted here too, so this is an upper bound.)
  const run = runFederated(sim, options(count, 1, withDevices ? devicesFor(count) : undefined));
  const setupMs = performance.now() - start;
  await collectGarbage();
  const bytes = memory() - before;
  if (sim.actorIds().some((id) => id.startsWith('client-'))) throw new Error('a client was spawned before any round');
  sink = run;
  sink = undefined;
  return { bytes, setupMs };
}

/**
 * Bytes each client that trained keeps after the run (its actor, data, stored answer):
 * heap after `rounds` rounds over a million registered minus heap before them, per spawned
 * client (the log is not kept, so that only the clients count).
 */
async function spawnedClientBytes(rounds: number): Promise<{ bytes: number; spawned: number }> {
  const sim = new SimulationCore({ seed: 3, keepLog: false });
  const run = runFederated(sim, options(1_000_000, rounds));
  await collectGarbage();
  const before = memory();
  await run;
  await collectGarbage();
  const bytes = memory() - before;
  const spawned = sim.actorIds().filter((id) => id.startsWith('client-')).length;
  sink = sim;
  sink = undefined;
  return { bytes, spawned };
}

/**
 * Wall ms of each round after the first, in one run of `rounds` rounds over `count` registered
 * clients. A round is timed from the step its fits are sent (the server sends them all in one
 * turn) to the step the next round's are: the report of a round reaches the driver at a step
 * the scheduler's seeded draws place among the next round's first trainings, so it would be
 * a noisy boundary.
 */
async function roundTimes(count: number, rounds: number, devices?: DevicePopulation): Promise<{ times: number[]; cpu: number[]; spawned: number }> {
  const sim = new SimulationCore({ seed: 2 });
  const run = runFederated(sim, options(count, rounds, devices));
  const starts = new Map<number, { wall: number; cpu: number }>();
  sim.sent$.subscribe((event) => {
    if (event.type !== FL.fit) return;
    const round = (event.envelope.payload as { round: number }).round;
    if (starts.has(round)) return;
    const cpu = process.cpuUsage();
    starts.set(round, { wall: performance.now(), cpu: (cpu.user + cpu.system) / 1000 });
  });
  const result = await run;
  // On devices a selected client may go offline before it answers: a round then aggregates fewer.
  if (!devices && result.rounds.some((r) => r.participants.length !== PER_ROUND)) throw new Error('a round did not aggregate every selected client');
  const times: number[] = [];
  const cpu: number[] = [];
  for (let round = 2; round < rounds; round++) {
    times.push(starts.get(round + 1)!.wall - starts.get(round)!.wall);
    cpu.push(starts.get(round + 1)!.cpu - starts.get(round)!.cpu);
  }
  return { times, cpu, spawned: sim.actorIds().filter((id) => id.startsWith('client-')).length };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const kb = (bytes: number) => `${(bytes / 1024).toFixed(3)} KB`;

export const benchmark = {
  name: 'population-scale',
  title: 'A million registered clients: heap per idle client, round time against population (issue #16)',
  async run(): Promise<string> {
    await initBackend();
    await roundTimes(1_000, 2); // warm-up: JIT, tfjs kernels, module state
    await populationBytes(1_000);

    const sizes = [1_000, 100_000, 1_000_000];
    const heap: Record<number, { bytes: number; setupMs: number }> = {};
    for (const n of sizes) heap[n] = await populationBytes(n);
    const withDevices = { 1_000: await populationBytes(1_000, true), 1_000_000: await populationBytes(1_000_000, true) };
    const trained = await spawnedClientBytes(ROUNDS);
    const marginal = (heap[1_000_000].bytes - heap[1_000].bytes) / (1_000_000 - 1_000);
    const memoryRows = sizes.map((n) => ({
      'registered clients': n.toLocaleString('en-US'),
      'heap + array buffers': `${(heap[n].bytes / 2 ** 20).toFixed(1)} MiB`,
      'per client (÷ N)': kb(heap[n].bytes / n),
      'set-up wall time': `${heap[n].setupMs.toFixed(0)} ms`,
    }));

    const times: Record<number, number[]> = { 1_000: [], 1_000_000: [] };
    const cpu: Record<number, number[]> = { 1_000: [], 1_000_000: [] };
    const spawned: Record<number, number[]> = { 1_000: [], 1_000_000: [] };
    for (let r = 0; r < RUNS; r++) {
      for (const n of [1_000, 1_000_000]) {
        const { times: t, cpu: c, spawned: s } = await roundTimes(n, ROUNDS);
        times[n].push(...t);
        cpu[n].push(...c);
        spawned[n].push(s);
        await collectGarbage();
      }
    }
    const ratio = (of: Record<number, number[]>) => (median(of[1_000_000]) / median(of[1_000])).toFixed(3);
    // The same with devices (profiles and a diurnal trace): rounds select among the clients online.
    const deviceTimes: Record<number, number[]> = { 1_000: [], 1_000_000: [] };
    const deviceCpu: Record<number, number[]> = { 1_000: [], 1_000_000: [] };
    const populations = { 1_000: devicesFor(1_000), 1_000_000: devicesFor(1_000_000) };
    for (let r = 0; r < RUNS; r++) {
      for (const n of [1_000, 1_000_000] as const) {
        const { times: t, cpu: c } = await roundTimes(n, ROUNDS, populations[n]);
        deviceTimes[n].push(...t);
        deviceCpu[n].push(...c);
        await collectGarbage();
      }
    }
    const deviceMarginal = (withDevices[1_000_000].bytes - withDevices[1_000].bytes) / (1_000_000 - 1_000);
    const timeRows = [1_000, 1_000_000].map((n) => ({
      'registered clients': n.toLocaleString('en-US'),
      'round of 100 (median)': `${median(times[n]).toFixed(1)} ms`,
      'min … max': `${Math.min(...times[n]).toFixed(1)} … ${Math.max(...times[n]).toFixed(1)} ms`,
      'CPU time of the process (median)': `${median(cpu[n]).toFixed(1)} ms`,
      'clients spawned by the end of a run': String(median(spawned[n])),
    }));
    return [
      `Lazy client source (\`clients: { count, data, maxSamplesPerClient }\`), logistic ${FEATURES}→${CLASSES}, ${SAMPLES} samples a client, plain aggregation.`,
      '',
      table(memoryRows),
      '',
      `Marginal cost of an idle client (1e6 − 1e3 registered): **${kb(marginal)}** (target ≤ 1 KB).`,
      '',
      `A client that has trained is no longer free: after ${ROUNDS} rounds over 1e6 registered, ${trained.spawned} clients were spawned and the heap grew by ` +
        `${(trained.bytes / 2 ** 20).toFixed(1)} MiB, ${kb(trained.bytes / trained.spawned)} per spawned client (its actor, its data, its stored answer with a copy of the model).`,
      '',
      table(timeRows),
      '',
      `Rounds 2…${ROUNDS - 1} of ${RUNS} runs each (runs alternated), ${PER_ROUND} clients a round: ratio 1e6 / 1e3 = **${ratio(times)}** in wall time (target ≤ 1.20), ` +
        `${ratio(cpu)} in CPU time (user + system of the process: less sensitive to other processes on the machine).`,
      '',
      `With devices (drawn profiles and a 2-day diurnal trace, rounds selecting among the clients online): ` +
        `${(withDevices[1_000_000].bytes / 2 ** 20).toFixed(1)} MiB for 1e6 registered, marginal **${kb(deviceMarginal)}** per idle client ` +
        `(an upper bound: the devices are built from an id list of their own); a round of ${PER_ROUND}: median ` +
        `${median(deviceTimes[1_000]).toFixed(1)} ms with 1e3 and ${median(deviceTimes[1_000_000]).toFixed(1)} ms with 1e6 registered, ` +
        `ratio **${ratio(deviceTimes)}** in wall time, ${ratio(deviceCpu)} in CPU time.`,
    ].join('\n');
  },
};
