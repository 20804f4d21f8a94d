/**
 * Issue #2 benchmark: deliveries per second of small control messages through the
 * simulator (bus → scheduler → actor, in-memory event log on), against a bare RxJS
 * Subject.next → subscriber loop measured in the same run.
 *
 *   npm run bench -- runtime
 */
import { Subject } from 'rxjs';
import { fromTransition } from 'xstate';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ActorIO, type ActorMessage, SimulationCore, type SimulationOptions } from '../src/runtime/index.js';
import { collectGarbage, fmt, measure, type Measurement, table } from './timing.js';

const N = 200_000;

/** Counts deliveries. */
const sink = fromTransition(
  (state: { n: number }, _event: ActorMessage) => {
    state.n++; // mutable on purpose: the benchmark measures the runtime, not allocation in the actor
    return state;
  },
  { n: 0 },
);

/** Forwards a token to the next actor of a ring until its hop budget runs out. */
const relay = fromTransition(
  (state: { io: ActorIO; next: string }, event: ActorMessage<number>) => {
    if (event.payload > 0) state.io.send(state.next, 'token', event.payload - 1);
    return state;
  },
  ({ input }: { input: { io: ActorIO; next: string } }) => ({ io: input.io, next: input.next }),
);

/** On 'go', sends `count` ticks to `to` in one turn. */
const burst = fromTransition(
  (state: { io: ActorIO; to: string; count: number }, _event: ActorMessage) => {
    for (let i = 0; i < state.count; i++) state.io.send(state.to, 'tick', i);
    return state;
  },
  ({ input }: { input: { io: ActorIO; to: string; count: number } }) => ({ ...input }),
);

function bareRxjs(): Measurement {
  return measure('bare RxJS Subject.next → subscriber', N, () => {
    const subject = new Subject<{ type: string; payload: number }>();
    let total = 0;
    subject.subscribe((m) => {
      total += m.payload;
    });
    for (let i = 0; i < N; i++) subject.next({ type: 'tick', payload: i });
    if (total < 0) throw new Error('unreachable');
  });
}

function flood(): Measurement {
  return measure('fedsim: driver → 1 actor (send + deliver, log on)', N, () => {
    const sim = new SimulationCore({ seed: 1 });
    sim.spawn(sink, 'sink');
    for (let i = 0; i < N; i++) sim.send('sink', 'tick', i);
    void sim.settle();
    if (sim.log.length < 2 * N) throw new Error('events missing');
  });
}

function fanIn(): Measurement {
  return measure('fedsim: 3 sender actors → 1 actor, seeded interleaving', N, () => {
    const sim = new SimulationCore({ seed: 1 });
    sim.spawn(sink, 'sink');
    // Three channels (s0→sink, s1→sink, s2→sink) are pending at once, so every step draws from the scheduler stream.
    const senders = ['s0', 's1', 's2'];
    const each = Math.floor(N / senders.length);
    for (const id of senders) sim.spawn(burst, id, { input: { to: 'sink', count: each } });
    for (const id of senders) sim.send(id, 'go', null);
    void sim.settle();
    if (sim.log.length < 2 * N) throw new Error('events missing');
  });
}

/** The token ring under `options` (the in-memory log is on unless they say otherwise). */
function ring(name: string, options: SimulationOptions = {}): Measurement {
  return measure(name, N, () => {
    const sim = new SimulationCore({ seed: 1, ...options });
    const ids = ['r0', 'r1', 'r2', 'r3'];
    ids.forEach((id, k) => sim.spawn(relay, id, { input: { next: ids[(k + 1) % ids.length] } }));
    sim.send('r0', 'token', N - 1);
    void sim.settle();
    sim.close();
    if (sim.now() < N) throw new Error('deliveries missing');
  });
}


/** Bytes of heap and typed-array memory a finished ring of `messages` deliveries keeps, with or without its log. */
async function retainedBytes(messages: number, keepLog: boolean): Promise<number> {
  await collectGarbage();
  const before = process.memoryUsage();
  const sim = new SimulationCore({ seed: 1, keepLog });
  const ids = ['r0', 'r1', 'r2', 'r3'];
  ids.forEach((id, k) => sim.spawn(relay, id, { input: { next: ids[(k + 1) % ids.length] } }));
  sim.send('r0', 'token', messages - 1);
  void sim.settle();
  await collectGarbage();
  const after = process.memoryUsage();
  if (sim.now() < messages) throw new Error('deliveries missing');
  return after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
}

/** The workloads, by name, so each can run in a process of its own. */
const workloads: Record<string, () => Measurement> = {
  rxjs: bareRxjs,
  flood,
  fanIn,
  ring: () => ring('fedsim: token ring of 4 actors (each delivery sends the next)'),
  // For comparison, not for the target: the same ring without any log, and with the log streamed to a file as JSONL.
  ringNoLog: () => ring('  (ring, no log kept)', { keepLog: false }),
  ringFileLog: () => ring('  (ring, log streamed to a JSONL file only)', { keepLog: false, record: join(mkdtempSync(join(tmpdir(), 'fedsim-bench-')), 'ring.jsonl') }),
};

/**
 * Runs one workload in a fresh Node process and returns its measurement. Like JMH's
 * forks: in one long-lived process, what ran before changes what V8 has compiled —
 * after the RxJS baseline and the other workloads, the ring sometimes ran a third
 * slower, its no-log variant too — so by default every workload gets a clean VM.
 */
function inFreshProcess(name: string): Measurement {
  const output = execFileSync(process.execPath, ['--import=tsx', fileURLToPath(import.meta.url), '--workload', name], { encoding: 'utf8' });
  return JSON.parse(output.trim().split('\n').pop()!) as Measurement;
}

const workloadArg = process.argv.indexOf('--workload');
if (workloadArg >= 0) {
  // A child started by inFreshProcess: measure one workload and print it.
  const name = process.argv[workloadArg + 1];
  if (!(name in workloads)) throw new Error(`Unknown workload '${name}'. Known: ${Object.keys(workloads).join(', ')}.`);
  console.log(JSON.stringify(workloads[name]()));
}

export const benchmark = {
  name: 'runtime',
  title: 'Runtime: deliveries per second (issue #2; target ≥ 1,000,000/s)',
  async run(): Promise<string> {
    // `npm run bench -- runtime --in-process` runs them all in this process instead, one after another.
    const inProcess = process.argv.includes('--in-process');
    const measured = Object.keys(workloads).map((name) => (inProcess ? workloads[name]() : inFreshProcess(name)));
    const baseline = measured[0];
    const rows = measured.map((m) => ({
      workload: m.name,
      'deliveries/s (median of 5)': fmt(m.perSecond),
      'slowest–fastest': `${fmt(Math.min(...m.samples))}–${fmt(Math.max(...m.samples))}`,
      'ratio to bare RxJS': m === baseline ? '1' : `1/${(baseline.perSecond / m.perSecond).toFixed(1)}`,
    }));
    const messages = 1_000_000;
    const withoutLog = await retainedBytes(messages, false);
    const withLog = await retainedBytes(messages, true);
    const memory = `In-memory log size: a ring of ${fmt(messages)} deliveries keeps ${fmt(withLog)} bytes with the log and ${fmt(withoutLog)} without, so the log costs ${((withLog - withoutLog) / messages).toFixed(0)} bytes per message (two events).`;
    const how = inProcess ? 'All workloads ran in this one process, in table order.' : 'Each workload ran in a fresh Node process (the baseline too).';
    return `${table(rows)}\n\n${how}\n\n${memory}`;
  },
};
