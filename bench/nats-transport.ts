/**
 * Issue #18 benchmark: the live transport. The same pointer traffic — remote `add` of
 * two 5-element tensors on bob — in process (the simulator) and live over NATS on
 * loopback, with bob in a `fedsim worker` child process:
 *
 * - messages/s: N one-way commands (`x.add(y)`, its result disposed: 2 messages each),
 *   then quiet (settle);
 * - round trip: `await x.add(y).get()` one at a time (command + objectRequest + reply),
 *   per-trip latency median and 99th percentile;
 * - the bare NATS request/reply round trip between two connections of this process, as
 *   the floor a live fedsim message cannot beat.
 *
 *   npm run bench -- nats-transport    (needs nats-server: apt-get install nats-server)
 */
import * as tf from '@tensorflow/tfjs';
import { connect } from '@nats-io/transport-node';
import { performance } from 'node:perf_hooks';
import { initBackend } from '../src/runtime/backend.js';
import { hook, Simulation } from '../src/index.js';
import { wireCodec } from '../src/messages/index.js';
import { parseFaultPlan } from '../src/runtime/index.js';
import { LiveSession } from '../src/runtime/transport/nats/live-session.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { startWorker } from '../test/helpers/live-worker.js';
import { fmt, table } from './timing.js';

const COMMANDS = Number(process.env.NATS_BENCH_COMMANDS ?? 5000);
const ROUND_TRIPS = Number(process.env.NATS_BENCH_ROUND_TRIPS ?? 500);
const REPEATS = 3;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** One session's traffic: messages/s of pipelined commands, then per-trip latencies (ms). */
async function traffic(sim: Simulation): Promise<{ messagesPerSecond: number; trips: number[] }> {
  const bob = sim.worker('bob');
  const [xl, yl] = [tf.tensor([1, 2, 3, 4, 5]), tf.tensor([1, 1, 1, 1, 1])];
  const x = sim.me.send(xl, bob);
  const y = sim.me.send(yl, bob);
  tf.dispose([xl, yl]);
  (await x.add(y).get()).dispose(); // warm-up, and bob exists
  await sim.settle();
  const start = performance.now();
  for (let i = 0; i < COMMANDS; i++) x.add(y).dispose();
  await sim.settle();
  const messagesPerSecond = (2 * COMMANDS) / ((performance.now() - start) / 1000);
  const trips: number[] = [];
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const t0 = performance.now();
    (await x.add(y).get()).dispose();
    trips.push(performance.now() - t0);
  }
  await sim.settle();
  return { messagesPerSecond, trips };
}

async function run(): Promise<string> {
  const backend = await initBackend();
  hook(tf);
  const server = await startNatsServer();
  const run = `bench-${process.pid}`;
  const worker = await startWorker(server.url, ['bob'], run);
  try {
    const rows: Array<Record<string, string>> = [];
    const measure = async (name: string, make: () => Promise<{ sim: Simulation; done: () => Promise<void> }>) => {
      const rates: number[] = [];
      const trips: number[] = [];
      for (let r = 0; r < REPEATS; r++) {
        const { sim, done } = await make();
        const result = await traffic(sim);
        await done();
        rates.push(result.messagesPerSecond);
        trips.push(...result.trips);
      }
      trips.sort((a, b) => a - b);
      rows.push({ transport: name, 'messages/s': fmt(median(rates)), 'round trip median': `${percentile(trips, 0.5).toFixed(3)} ms`, 'round trip p99': `${percentile(trips, 0.99).toFixed(3)} ms` });
    };
    await measure('in process (simulator, virtual time)', async () => ({ sim: new Simulation({ seed: 1, keepLog: true }), done: async () => {} }));
    await measure('NATS on loopback (bob in a fedsim worker process)', async () => {
      const session = await LiveSession.open({ nats: { servers: server.url }, run, codec: wireCodec, seed: 1, faults: parseFaultPlan(undefined) });
      const sim = new Simulation({ seed: 1, keepLog: true, transport: session.transport });
      return {
        sim,
        done: async () => {
          await session.record(sim);
          await session.close();
        },
      };
    });
    // The floor: a bare request/reply between two connections of this process.
    const [a, b] = [await connect({ servers: server.url }), await connect({ servers: server.url })];
    b.subscribe('bench.echo', { callback: (_e, msg) => void msg.respond(msg.data) });
    await b.flush();
    const bare: number[] = [];
    for (let i = 0; i < ROUND_TRIPS * REPEATS; i++) {
      const t0 = performance.now();
      await a.request('bench.echo', new Uint8Array(64));
      bare.push(performance.now() - t0);
    }
    bare.sort((x, y) => x - y);
    rows.push({ transport: 'bare NATS request/reply (64 bytes, no fedsim)', 'messages/s': '—', 'round trip median': `${percentile(bare, 0.5).toFixed(3)} ms`, 'round trip p99': `${percentile(bare, 0.99).toFixed(3)} ms` });
    await a.close();
    await b.close();
    return (
      `backend ${backend}; ${COMMANDS} pipelined commands (2 messages each: command + delete) then quiet, ${ROUND_TRIPS} round trips ` +
      `(\`await x.add(y).get()\`: 3 messages) per repetition, ${REPEATS} repetitions (messages/s: median; latencies: over all trips). ` +
      'In process the scheduler delivers on virtual time, so a round trip costs only CPU; live, each message is encoded, goes ' +
      'through nats-server (sender → server → receiver), is decoded and checked, and is recorded by both processes.\n\n' +
      table(rows)
    );
  } finally {
    await worker.stop();
    await server.stop();
  }
}

export const benchmark = { name: 'nats-transport', title: 'Live transport (NATS): messages/s and round-trip latency, loopback vs in process', run };
