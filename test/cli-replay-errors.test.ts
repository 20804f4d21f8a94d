/**
 * `fedsim replay` of a damaged or edited log: a clear error naming the line and what
 * to do — never a confusing divergence, a hang, or a stack trace. One case per kind of
 * damage here (each is a process); every variant of each kind (an invalid strategy, an
 * edited latency, backend or seed, CRLF on a later line, …) is covered in process by
 * test/runtime-log-format.test.ts.
 */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fedsim, tempDir } from './helpers/fedsim-cli.js';

const STACK = /^\s+at .+[:(]|node:internal/m;

/** Writes the recorded log, edited, as `name`.jsonl. */
function damaged(dir: string, lines: readonly string[], name: string, edit: (lines: string[]) => string): string {
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, edit([...lines]));
  return path;
}

const withHeader = (lines: string[], change: (header: Record<string, unknown>) => void) => {
  const header = JSON.parse(lines[0]);
  change(header);
  return [JSON.stringify(header), ...lines.slice(1)].join('\n') + '\n';
};

test('damaged and edited logs are refused with the line and the fix (exit 2), headers that cannot be reproduced before the run (exit 1)', async (t) => {
  const dir = tempDir(t);
  const recorded = await fedsim('run', 'test/fixtures/fedavg-tiny.yaml', '--out', dir, '-q');
  t.is(recorded.code, 0, recorded.stderr);
  const lines = readFileSync(join(dir, 'run.jsonl'), 'utf8').trimEnd().split('\n');
  const log = (name: string, edit: (lines: string[]) => string) => damaged(dir, lines, name, edit);
  const cases: Array<[string, string, number, RegExp]> = [
    ['crlf', log('crlf', (l) => l.join('\r\n') + '\r\n'), 2, /^error: \S+crlf\.jsonl, line 1: ends with CRLF \(\\r\\n\); fedsim logs end lines with \\n only\. .*dos2unix/],
    ['trailing blank lines', log('blank', (l) => l.join('\n') + '\n\n\n'), 2, /, line \d+: blank lines after the last event; .*Remove the trailing blank lines/],
    ['invalid faults', log('faults', (l) => withHeader(l, (h) => ((h.faults as Record<string, unknown>).drop = 2))), 2, /, line 1: not a valid fedsim log header: at faults\.drop: a rate is a probability in \[0, 1\]/],
    ['huge line', log('huge', (l) => [...l.slice(0, 3), `{"seq":2,"x":"${'y'.repeat(1_100_000)}"}`, ...l.slice(4)].join('\n') + '\n'), 2, /, line 4: longer than 1,048,576 characters, so it is not a fedsim log line/],
    ['edited version', log('version', (l) => withHeader(l, (h) => (h.fedsim = '0.0.7'))), 1, /^replay refused: LogHeaderMismatchError: \S+version\.jsonl, line 1 \(the header\): fedsim is "0\.0\.7" in the log, but this run has "[^"]+", so it cannot reproduce the recorded events\. The log was recorded by another fedsim version/m],
  ];
  const results = await Promise.all(cases.map(([, path]) => fedsim('replay', path, '-q')));
  cases.forEach(([name, , code, message], i) => {
    const { code: actual, stderr } = results[i];
    t.is(actual, code, `${name}: ${stderr}`);
    t.regex(stderr, message, name);
    t.notRegex(stderr, STACK, name);
  });
});

test('a directory that holds no run.jsonl is refused with what to give (exit 2), not a crash', async (t) => {
  const dir = tempDir(t);
  const replay = await fedsim('replay', dir);
  t.is(replay.code, 2, replay.stdout + replay.stderr);
  t.regex(replay.stderr, /^error: LOG \S+ has no run\.jsonl, so it is not a finished run's directory\. Give the directory `fedsim run FILE --out DIR` wrote, its run\.jsonl, or its results\.json\./);
  t.notRegex(replay.stderr, STACK);
});
