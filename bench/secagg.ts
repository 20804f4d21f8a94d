/**
 * SecAgg+ round cost against plain FedAvg aggregation, for n = 10, 100, 1000 clients with a
 * 200k-parameter model, in one run: `npx tsx bench/secagg.ts` (add `--quick` for n = 10, 100
 * only, `--sizes 10,50` for others). A fourth case, n = 100 on the complete graph (Bonawitz's
 * SecAgg, k = n), shows what the sparse graph saves.
 *
 * Both protocols run as actors in the simulator over the same bus, so the comparison includes
 * the same message handling. Plain aggregation is the FedAvg server's share of a round: it asks
 * each client for its update (Float32, 4 bytes a parameter) and adds it into a running sum.
 * SecAgg+ runs all five stages (keys, encrypted shares, masked inputs, consistency check, unmasking) and the
 * server strips the masks. Model download and local training are identical in both and left
 * out. Bytes per client are read from the event stream (every message carries its would-be
 * wire size); the log is not kept in memory (1000 masked 800 kB vectors would be 800 MB).
 *
 * Parameters (documented in BENCHMARKS.md): numShares k = min(n, 2⌈log2 n⌉ + 1) — Bell et
 * al.'s O(log n) neighbourhoods, complete graph for n = 10 — and threshold ⌊k/2⌋ + 1 (an honest
 * majority of each neighbourhood); Flower's defaults otherwise (clippingRange 8,
 * quantizationRange 2^22, modulusRange 2^32).
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { fromTransition } from 'xstate';
import { type ActorIO, type ActorMessage, type Envelope, type SimEvent, SimulationCore, createStream } from '../src/runtime/index.js';
import { SECAGG, payloadBytes, roundQuantizationStep, runSecAggPlus } from '../src/fl/secure/secagg/index.js';
import { table } from './timing.js';

const PARAMETERS = 200_000;
const DISTINCT_UPDATES = 10;

/** Shared test vectors: client i contributes base[i mod 10] (values do not change the cost; sharing them saves ~800 MB at n = 1000). */
function baseUpdates(): Float32Array[] {
  const rng = createStream('bench', 'secagg/updates');
  return Array.from({ length: DISTINCT_UPDATES }, () => Float32Array.from({ length: PARAMETERS }, () => rng.normal(0, 0.5)));
}

function clientIds(n: number): string[] {
  const width = String(n - 1).length;
  return Array.from({ length: n }, (_, i) => `c${String(i).padStart(width, '0')}`);
}

export function secAggParams(n: number) {
  const numShares = Math.min(n, 2 * Math.ceil(Math.log2(n)) + 1);
  return { numShares, reconstructionThreshold: Math.floor(numShares / 2) + 1 };
}

interface Traffic {
  /** Mean bytes a client sent (uplink) and received (downlink). */
  up: number;
  down: number;
  messages: number;
  /** Wall seconds spent handling each message type, split by who handled it. */
  handling: Map<string, { clients: number; server: number }>;
}

/**
 * Counts bytes per client from the event stream, and attributes wall time to handlers: a
 * turn starts with its 'delivered' event and its sends are recorded when it ends, so the
 * time from a delivery to the next event is (almost all) the receiver's handling time.
 */
function meter(sim: SimulationCore, clients: Set<string>): () => Traffic {
  let up = 0;
  let down = 0;
  let messages = 0;
  const handling = new Map<string, { clients: number; server: number }>();
  let open: { type: string; client: boolean; at: number } | null = null;
  sim.events$.subscribe((event: SimEvent) => {
    const now = performance.now();
    if (open) {
      const bucket = handling.get(open.type) ?? { clients: 0, server: 0 };
      if (open.client) bucket.clients += (now - open.at) / 1000;
      else bucket.server += (now - open.at) / 1000;
      handling.set(open.type, bucket);
      open = null;
    }
    if (event.ev === 'delivered') open = { type: event.type, client: clients.has(event.to), at: now };
    if (event.ev !== 'sent') return;
    const bytes = event.envelope.bytes ?? 0;
    messages++;
    if (clients.has(event.from)) up += bytes;
    if (clients.has(event.to)) down += bytes;
  });
  return () => ({ up: up / clients.size, down: down / clients.size, messages, handling });
}

// ── plain FedAvg aggregation: the baseline ────────────────────────────────────

const plainClient = fromTransition(
  (state: { io: ActorIO; update: Float32Array }, event: ActorMessage) => {
    if (event.type === 'fedavg/get-update') {
      const payload = { round: event.payload.round, update: state.update };
      state.io.reply(event.envelope, 'fedavg/update', payload, { bytes: payloadBytes('fedavg/update', payload) });
    }
    return state;
  },
  ({ input }: { input: { io: ActorIO; update: Float32Array } }) => ({ io: input.io, update: input.update }),
);

interface PlainServer {
  io: ActorIO;
  sum: Float64Array | null;
  waiting: number;
  request: Envelope | null;
}

const plainServer = fromTransition(
  (state: PlainServer, event: ActorMessage) => {
    const { io } = state;
    if (event.type === 'fedavg/aggregate') {
      const { round, clients } = event.payload as { round: number; clients: string[] };
      for (const id of clients) io.send(id, 'fedavg/get-update', { round }, { bytes: payloadBytes('fedavg/get-update', { round }) });
      return { ...state, sum: null, waiting: clients.length, request: event.envelope };
    }
    if (event.type === 'fedavg/update') {
      const update = event.payload.update as Float32Array;
      const sum = state.sum ?? new Float64Array(update.length);
      for (let i = 0; i < update.length; i++) sum[i] += update[i];
      const waiting = state.waiting - 1;
      if (waiting === 0) {
        const result = { sum: Float32Array.from(sum) };
        io.reply(state.request!, 'fedavg/sum', result, { bytes: payloadBytes('fedavg/sum', result) });
      }
      return { ...state, sum, waiting };
    }
    return state;
  },
  ({ input }: { input: { io: ActorIO } }) => ({ io: input.io, sum: null, waiting: 0, request: null }) as PlainServer,
);

interface Measured {
  seconds: number;
  traffic: Traffic;
  maxError: number;
}

async function plainRound(n: number, bases: Float32Array[], expected: Float64Array): Promise<Measured> {
  const start = performance.now();
  const sim = new SimulationCore({ seed: 1, keepLog: false });
  const ids = clientIds(n);
  const traffic = meter(sim, new Set(ids));
  sim.spawn(plainServer, 'fedavg-server');
  ids.forEach((id, i) => sim.spawn(plainClient, id, { input: { update: bases[i % DISTINCT_UPDATES] } }));
  const { sum } = await sim.request<{ sum: Float32Array }>('fedavg-server', 'fedavg/aggregate', { round: 0, clients: ids });
  const seconds = (performance.now() - start) / 1000;
  return { seconds, traffic: traffic(), maxError: maxAbsDiff(sum, expected) };
}

async function secAggRound(n: number, bases: Float32Array[], expected: Float64Array, params: { numShares: number; reconstructionThreshold: number }): Promise<Measured & { step: number }> {
  const start = performance.now();
  const sim = new SimulationCore({ seed: 1, keepLog: false });
  const ids = clientIds(n);
  const traffic = meter(sim, new Set(ids));
  const clients = new Map(ids.map((id, i) => [id, bases[i % DISTINCT_UPDATES]]));
  const result = await runSecAggPlus(sim, { clients, params });
  const seconds = (performance.now() - start) / 1000;
  if (result.survivors.length !== n) throw new Error(`bench: ${n - result.survivors.length} clients dropped in a fault-free run`);
  return { seconds, traffic: traffic(), maxError: maxAbsDiff(result.sum, expected), step: roundQuantizationStep(result.config) };
}

function maxAbsDiff(a: Float32Array, b: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function expectedSum(n: number, bases: Float32Array[]): Float64Array {
  const sum = new Float64Array(PARAMETERS);
  for (let i = 0; i < n; i++) {
    const base = bases[i % DISTINCT_UPDATES];
    for (let j = 0; j < PARAMETERS; j++) sum[j] += base[j];
  }
  return sum;
}

const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
const secs = (s: number) => (s >= 10 ? `${s.toFixed(1)} s` : s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(0)} ms`);

export interface BenchCase {
  n: number;
  /** Use the complete graph (Bonawitz's SecAgg, k = n) instead of k = 2⌈log2 n⌉ + 1. */
  complete?: boolean;
}

/** Handler time per stage, in the order the stages run: [label, message type handled]. */
const STAGE_TYPES: Array<[string, string, 'clients' | 'server']> = [
  ['clients: keys (setup)', SECAGG.setup, 'clients'],
  ['clients: split + encrypt shares', SECAGG.shareKeys, 'clients'],
  ['clients: decrypt, quantise, mask', SECAGG.collect, 'clients'],
  ['clients: sign survivor set', SECAGG.consistency, 'clients'],
  ['clients: check signatures, reveal shares', SECAGG.unmask, 'clients'],
  ['server: add masked inputs', SECAGG.maskedInput, 'server'],
  ['server: rebuild secrets, unmask', SECAGG.unmaskShares, 'server'],
];

export async function runSecAggBench(cases: BenchCase[], log: (line: string) => void = () => {}): Promise<string> {
  const bases = baseUpdates();
  const rows: Array<Record<string, string | number>> = [];
  const stageRows: Array<Record<string, string | number>> = [];
  for (const { n, complete } of cases) {
    const expected = expectedSum(n, bases);
    const params = complete ? { numShares: n, reconstructionThreshold: Math.floor(n / 2) + 1 } : secAggParams(n);
    const label = `${n}${complete ? ' (complete graph)' : ''}`;
    // Small sizes: a warm-up round (JIT) and the median of 3; one round at n = 1000 (it takes over a minute).
    const repeats = n <= 100 && !complete ? 3 : 1;
    if (repeats > 1) {
      await plainRound(n, bases, expected);
      await secAggRound(n, bases, expected, params);
    }
    const plain: Measured[] = [];
    const secure: Array<Measured & { step: number }> = [];
    for (let r = 0; r < repeats; r++) {
      plain.push(await plainRound(n, bases, expected));
      secure.push(await secAggRound(n, bases, expected, params));
      log(`n = ${label}, repeat ${r + 1}/${repeats}: plain ${secs(plain.at(-1)!.seconds)}, SecAgg+ ${secs(secure.at(-1)!.seconds)}`);
    }
    const median = <T extends { seconds: number }>(xs: T[]) => [...xs].sort((a, b) => a.seconds - b.seconds)[Math.floor(xs.length / 2)];
    const p = median(plain);
    const s = median(secure);
    const shares = params.numShares >= n - 1 ? n : params.numShares;
    rows.push({
      n: label,
      'k / t': `${shares} / ${params.reconstructionThreshold}`,
      'plain: wall': secs(p.seconds),
      'SecAgg+: wall': secs(s.seconds),
      slowdown: `${(s.seconds / p.seconds).toFixed(0)}×`,
      'SecAgg+ wall / client': secs(s.seconds / n),
      'plain: up / down per client': `${kb(p.traffic.up)} / ${kb(p.traffic.down)}`,
      'SecAgg+: up / down per client': `${kb(s.traffic.up)} / ${kb(s.traffic.down)}`,
      'bytes ×': (s.traffic.up + s.traffic.down) / (p.traffic.up + p.traffic.down) >= 10 ? '' : ((s.traffic.up + s.traffic.down) / (p.traffic.up + p.traffic.down)).toFixed(3),
      'max |err| (bound n·step)': `${s.maxError.toExponential(1)} (${(n * s.step).toExponential(1)})`,
    });
    const stageRow: Record<string, string | number> = { n: label };
    for (const [name, type, who] of STAGE_TYPES) stageRow[name] = secs(s.traffic.handling.get(type)?.[who] ?? 0);
    stageRow['plain: server sums'] = secs(p.traffic.handling.get('fedavg/update')?.server ?? 0);
    stageRows.push(stageRow);
  }
  return `${table(rows)}\n\nWall time inside handlers, per stage (summed over all clients / the server):\n\n${table(stageRows)}`;
}

const DEFAULT_CASES: BenchCase[] = [{ n: 10 }, { n: 100 }, { n: 1000 }, { n: 100, complete: true }];

export const benchmark = {
  name: 'secagg',
  title: `SecAgg+ round vs plain FedAvg aggregation (${PARAMETERS / 1000}k parameters)`,
  run: () => runSecAggBench(DEFAULT_CASES),
};

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const sizesArg = args.indexOf('--sizes');
  const cases: BenchCase[] =
    sizesArg >= 0 ? args[sizesArg + 1].split(',').map((n) => ({ n: Number(n) })) : args.includes('--quick') ? [{ n: 10 }, { n: 100 }] : DEFAULT_CASES;
  console.log(`# SecAgg+ vs plain aggregation — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${PARAMETERS} parameters\n`);
  const started = performance.now();
  console.log(await runSecAggBench(cases, (line) => console.error(line)));
  console.error(`total ${secs((performance.now() - started) / 1000)}`);
}
