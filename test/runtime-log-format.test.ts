/**
 * Reading recorded logs: damaged files (CRLF line ends, blank lines, oversized lines,
 * an invalid header) are refused at the line where they break, the same way whether
 * the log is parsed whole or streamed; a streamed log verifies a re-execution in
 * bounded memory; a header that differs from the re-executed run is refused before
 * the first event.
 */
import test from 'ava';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DivergenceError,
  LogFormatError,
  LogHeaderMismatchError,
  SimulationCore,
  type SimulationOptions,
  openLogStream,
  parseLog,
  scanLog,
} from '../src/runtime/index.js';
import { LogLineReader } from '../src/runtime/replay/log-lines.js';
import { echoMachine } from './helpers/actors.js';

const dir = mkdtempSync(join(tmpdir(), 'fedsim-logformat-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const file = (text: string) => {
  const path = join(dir, `log-${files++}.jsonl`);
  writeFileSync(path, text);
  return path;
};

/** A small recorded run: bob and alice answer pings under delays. */
async function recordedRun(options: SimulationOptions = {}): Promise<SimulationCore> {
  const sim = new SimulationCore({ seed: 7, faults: { delay: { rate: 0.5, dist: { kind: 'uniform', min: 0, max: 3 } } }, backend: 'none', ...options });
  sim.spawn(echoMachine, 'bob');
  sim.spawn(echoMachine, 'alice');
  for (let n = 0; n < 6; n++) await Promise.all([sim.request('bob', 'ping', { n }), sim.request('alice', 'ping', { n })]);
  sim.mark('done ✓ — ünïcode', { note: 'multi-byte characters cross chunk boundaries' });
  await sim.settle();
  return sim;
}

const recorded = await recordedRun();
const text = recorded.log.toJSONL();
const lines = text.trimEnd().split('\n');

/** The error each reader gives for the same text: they must agree. */
function errors(damaged: string, maxLineChars?: number): { parsed: string; scanned: string } {
  const parsed = (() => {
    try {
      parseLog(damaged, 'log', { maxLineChars });
      return 'ok';
    } catch (error) {
      return (error as Error).message;
    }
  })();
  const path = file(damaged);
  const scanned = (() => {
    try {
      scanLog(path, { source: 'log', maxLineChars });
      return 'ok';
    } catch (error) {
      return (error as Error).message;
    }
  })();
  return { parsed, scanned };
}

test('the line reader returns exactly the lines of the file, whatever the chunk size (multi-byte characters included)', (t) => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((s) => !/[\r\n]/.test(s)), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 40 }), fc.boolean(), (content, chunk, finalNewline) => {
      const path = file(content.join('\n') + (finalNewline ? '\n' : ''));
      const reader = new LogLineReader(path, 'log', 1 << 20, chunk);
      const read: string[] = [];
      for (let line = reader.next(); line !== null; line = reader.next()) read.push(line);
      t.deepEqual(read, content);
    }),
    { numRuns: 60 },
  );
});

test('CRLF line ends are refused at the first converted line, with the fix', (t) => {
  for (const [damaged, line] of [
    [text.replace(/\n/g, '\r\n'), 1],
    [lines.map((l, i) => (i === 4 ? `${l}\r` : l)).join('\n') + '\n', 5],
  ] as const) {
    const { parsed, scanned } = errors(damaged);
    t.is(scanned, parsed);
    t.true(parsed.startsWith(`log, line ${line}: ends with CRLF`), parsed);
    t.regex(parsed, /dos2unix/);
  }
});

test('blank lines are refused: trailing ones as appended after the run, inner ones as an edit', (t) => {
  for (const extra of ['\n', '\n\n\n']) {
    const { parsed, scanned } = errors(text + extra);
    t.is(scanned, parsed);
    t.is(parsed, `log, line ${lines.length + 1}: blank lines after the last event; a fedsim log ends with its last event line. Remove the trailing blank lines (something appended them after the run).`);
  }
  const inner = [...lines.slice(0, 3), '', ...lines.slice(3)].join('\n') + '\n';
  const { parsed, scanned } = errors(inner);
  t.is(scanned, parsed);
  t.regex(parsed, /^log, line 4: a blank line inside the log/);
});

test('an oversized line is refused by its number before it is held whole (also when it is the last, unterminated line)', (t) => {
  const longest = Math.max(...lines.map((l) => l.length));
  const huge = JSON.stringify({ seq: 3, t: 9, ev: 'mark', label: 'x'.repeat(longest * 3) });
  for (const [damaged, line] of [
    [[...lines.slice(0, 4), huge, ...lines.slice(5)].join('\n') + '\n', 5],
    [[...lines.slice(0, 4), huge].join('\n'), 5],
  ] as const) {
    const { parsed, scanned } = errors(damaged, longest + 10);
    t.is(scanned, parsed);
    t.true(parsed.startsWith(`log, line ${line}: longer than ${(longest + 10).toLocaleString('en-US')} characters`), parsed);
  }
  t.is(errors(text, longest).scanned, 'ok', 'a line exactly at the limit is fine');
});

test('a header whose fault plan, strategy or latency is invalid is refused, naming the field', (t) => {
  const header = JSON.parse(lines[0]);
  for (const [edit, field] of [
    [{ faults: { ...header.faults, drop: 7 } }, /at faults\.drop: a rate is a probability/],
    [{ faults: { ...header.faults, crash: [] } }, /at faults: .*crash.*expected a fault plan/],
    [{ strategy: 'fastest-first' }, /at strategy: .*expected a scheduling strategy/],
    [{ strategy: { name: 'pct', depth: 'deep' } }, /at strategy.*expected a scheduling strategy/],
    [{ latency: -1 }, /at latency: .*expected link latency/],
  ] as const) {
    const damaged = [JSON.stringify({ ...header, ...edit }), ...lines.slice(1)].join('\n') + '\n';
    const { parsed, scanned } = errors(damaged);
    t.is(scanned, parsed);
    t.regex(parsed, /^log, line 1: not a valid fedsim log header/);
    t.regex(parsed, field);
  }
});

test('scanLog counts the events of a sound log', (t) => {
  const summary = scanLog(file(text));
  t.is(summary.events, lines.length - 1);
  t.deepEqual(summary.header, recorded.log.header);
});

test('a streamed log verifies a re-execution event by event, and a tampered line is a divergence with context', async (t) => {
  const path = file(text);
  const replay = await recordedRun({ verify: openLogStream(path) });
  t.deepEqual(replay.close(), { events: lines.length - 1 });

  const seq = 20;
  const tampered = lines.map((l, i) => (i === seq + 1 ? l.replace(/"t":[\d.]+/, '"t":999') : l)).join('\n') + '\n';
  const error = await t.throwsAsync(recordedRun({ verify: openLogStream(file(tampered)) }), { instanceOf: DivergenceError });
  t.is(error!.divergence.seq, seq);
  t.deepEqual(error!.divergence.context, lines.slice(seq - 2, seq + 1));
});

test('a streamed line that is not an event (checked only when it differs) is reported as a damaged log, not a divergence', async (t) => {
  const broken = lines.map((l, i) => (i === 11 ? l.slice(0, -5) : l)).join('\n') + '\n';
  const error = await t.throwsAsync(recordedRun({ verify: openLogStream(file(broken), { source: 'run.jsonl' }) }), { instanceOf: LogFormatError });
  t.is(error!.message, 'run.jsonl, line 12: not valid JSON (the log is corrupt or was edited).');
});

test('a header edited in a field the run reproduces (version, latency, backend, seed, faults) is refused before the first event', async (t) => {
  const header = JSON.parse(lines[0]);
  for (const [field, value] of [
    ['fedsim', '0.0.1'],
    ['latency', 5],
    ['backend', 'wasm 9.9.9'],
    ['seed', 8],
    ['faults', { ...header.faults, drop: 0.1 }],
  ] as const) {
    const edited = [JSON.stringify({ ...header, [field]: value }), ...lines.slice(1)].join('\n') + '\n';
    // Replay as `fedsim replay` does: seed, strategy and faults come from the recorded header.
    const error = t.throws(() => new SimulationCore({ seed: header.seed, strategy: header.strategy, faults: header.faults, backend: 'none', verify: openLogStream(file(edited), { source: 'run.jsonl' }) }), {
      instanceOf: LogHeaderMismatchError,
    });
    t.is(error!.field, field);
    t.true(error!.message.startsWith(`run.jsonl, line 1 (the header): ${field} is ${JSON.stringify(value)} in the log`), error!.message);
  }
});
