import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DivergenceError, LogFormatError, parseLog, readLog, SimulationCore, verifyRun } from '../src/runtime/index.js';
import { concurrentSenders, concurrentSendersLog } from './helpers/concurrent-senders.js';

const faulty = {
  delay: { rate: 0.4, dist: { kind: 'exponential' as const, mean: 3 } },
  duplicate: 0.15,
  drop: 0.05,
  reorder: 0.1,
};

/** Replaces the digest on the event line with the given seq. */
function tamperDigest(jsonl: string, seq: number): string {
  const lines = jsonl.split('\n');
  const event = JSON.parse(lines[seq + 1]);
  event.digest = '0000000000000000';
  lines[seq + 1] = JSON.stringify(event);
  return lines.join('\n');
}

test('schedule replay reproduces a recorded log under a different seed argument', async (t) => {
  const recorded = await concurrentSendersLog({ seed: 5, faults: faulty });
  const types = new Set(recorded.sim.log.events.map((e) => e.ev));
  t.true(types.has('duplicated') && types.has('delayed'), 'the recording exercises faults');
  // Without the recorded schedule, seed 99 gives another run…
  const other = await concurrentSendersLog({ seed: 99, faults: faulty });
  t.not(other.sim.log.eventLines().join('\n'), recorded.sim.log.eventLines().join('\n'));
  // …with it, the same events, line for line.
  const replay = new SimulationCore({ seed: 99, schedule: recorded.jsonl });
  await concurrentSenders(replay);
  await replay.settle();
  t.deepEqual(replay.log.eventLines(), recorded.sim.log.eventLines());
  t.is(replay.log.header.mode, 'schedule-replay');
  t.is(replay.log.header.seed, 99);
  t.deepEqual(replay.close(), { events: recorded.sim.log.length });
});

test('re-execution from a log header verifies a faithful log', async (t) => {
  const recorded = await concurrentSendersLog({ seed: 8, faults: faulty });
  const result = await verifyRun(recorded.jsonl, (sim) => concurrentSenders(sim));
  t.is(result.events, recorded.sim.log.length);
});

test('a tampered log reports the first divergent seq with expected and actual events', async (t) => {
  const recorded = await concurrentSendersLog({ seed: 8, faults: faulty });
  const seq = recorded.sim.log.events.findIndex((e, i) => i > 15 && e.ev === 'delivered');
  const tampered = tamperDigest(recorded.jsonl, seq);
  const error = await t.throwsAsync(verifyRun(tampered, (sim) => concurrentSenders(sim)), { instanceOf: DivergenceError });
  t.is(error!.divergence.seq, seq);
  t.regex(error!.message, new RegExp(`at seq ${seq}:`));
  t.regex(error!.divergence.expected!, /0000000000000000/);
  t.notRegex(error!.divergence.actual!, /0000000000000000/);
});

test('schedule replay of a log whose delivery order was edited fails at that seq', async (t) => {
  const recorded = await concurrentSendersLog({ seed: 9 });
  const lines = recorded.jsonl.split('\n');
  const seq = recorded.sim.log.events.findIndex((e, i) => i > 10 && e.ev === 'delivered' && e.to === 'sink');
  const event = JSON.parse(lines[seq + 1]);
  event.msg = 'nobody:42';
  lines[seq + 1] = JSON.stringify(event);
  const replay = new SimulationCore({ schedule: lines.join('\n') });
  const error = await t.throwsAsync(concurrentSenders(replay), { instanceOf: DivergenceError });
  t.is(error!.divergence.seq, seq);
  t.regex(error!.message, /nobody:42/);
  // The simulation refuses to go on after a divergence.
  t.throws(() => replay.step(), { message: /stopped after an error/ });
});

test('a run that ends early, or a log with extra events, is a divergence too', async (t) => {
  const recorded = await concurrentSendersLog({ seed: 8 });
  const error = await t.throwsAsync(
    verifyRun(recorded.jsonl, async (sim) => {
      await concurrentSenders(sim, 3); // one item fewer per sender
    }),
    { instanceOf: DivergenceError },
  );
  t.true(error!.divergence.seq > 0);
});

test('incompatible and corrupt logs are refused with a clear error', (t) => {
  t.throws(() => parseLog(''), { instanceOf: LogFormatError, message: /empty/ });
  t.throws(() => parseLog('not json\n'), { instanceOf: LogFormatError, message: /line 1: the header is not JSON/ });
  const header = { kind: 'fedsim-log', format: 99, fedsim: '9.9.9', seed: 1, strategy: 'fifo-random', faults: {}, backend: 'none', latency: 1 };
  t.throws(() => parseLog(JSON.stringify(header)), { instanceOf: LogFormatError, message: /format 99; this fedsim reads format 1/ });
  const good = JSON.stringify({ ...header, format: 1 });
  t.throws(() => parseLog(`${good}\n{"seq":1,"t":0,"ev":"mark"}\n`), { message: /line 2: seq 1 where 0 was expected/ });
  t.throws(() => parseLog(`${good}\n{"seq":0,"t":5,"ev":"mark"}\n{"seq":1,"t":4,"ev":"mark"}\n`), { message: /line 3: virtual time 4 goes backwards/ });
  t.throws(() => readLog('/nonexistent/run.jsonl'), { instanceOf: LogFormatError, message: /Cannot read log \/nonexistent\/run.jsonl/ });
});

test('the log streams to a file identical to the in-memory log', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-log-'));
  const path = join(dir, 'run.jsonl');
  const sim = new SimulationCore({ seed: 3, faults: { ...faulty, drop: 0 }, record: path });
  await concurrentSenders(sim);
  sim.mark('done', { ok: true });
  sim.close();
  t.is(readFileSync(path, 'utf8'), sim.log.toJSONL());
  const parsed = readLog(path);
  t.is(parsed.events.length, sim.log.length);
  t.is(parsed.header.seed, 3);
});
