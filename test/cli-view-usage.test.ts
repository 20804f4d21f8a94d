/**
 * `fedsim view`'s usage messages: option checks that happen before the log is read or
 * replayed (a port out of range, options that would be silently ignored: exit 2 naming the
 * flag), the wording of its errors about the log (no doubled period), and --max-line-chars.
 */
import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fedsim, tempDir } from './helpers/fedsim-cli.js';

// Not a run at all: a refusal that comes first proves the check runs before any work.
const NO_RUN = 'no-such-run-directory';

for (const port of ['99999', '65536', 'abc']) {
  test(`view --serve --port ${port} is refused by the option parser with the valid range`, async (t) => {
    const r = await fedsim('view', NO_RUN, '--serve', '--port', port);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, new RegExp(`--port ${port.replace('.', '\\.')}: give a TCP port from 1 to 65535 \\(or 0 for any free port\\)`));
    t.notRegex(r.stderr, /RangeError|at .*\.js:\d+/);
  });
}

test('view --port without --serve is a usage error, nothing is written', async (t) => {
  const dir = tempDir(t);
  const r = await fedsim('view', NO_RUN, '--port', '8080', '--out', join(dir, 'v.html'));
  t.is(r.code, 2);
  t.regex(r.stderr, /--port 8080 only applies with --serve/);
  t.false(existsSync(join(dir, 'v.html')));
});

test('view --state-every with --no-states is a usage error', async (t) => {
  const r = await fedsim('view', NO_RUN, '--no-states', '--state-every', '5');
  t.is(r.code, 2);
  t.regex(r.stderr, /--state-every 5 and --no-states contradict each other/);
});

test('a log of another fedsim version: the states error reads as one sentence (no "..")', async (t) => {
  const dir = tempDir(t);
  const ran = await fedsim('run', 'scenarios/ping-pong.ts', '--out', join(dir, 'p'), '-q');
  t.is(ran.code, 0, ran.stderr);
  const log = join(dir, 'p', 'run.jsonl');
  const [header, ...events] = readFileSync(log, 'utf8').split('\n');
  writeFileSync(log, [header.replace(/"fedsim":"[^"]*"/, '"fedsim":"0.0.1"'), ...events].join('\n'));
  const old = await fedsim('view', join(dir, 'p'), '--out', join(dir, 'v.html'));
  t.is(old.code, 1);
  t.regex(old.stderr, /replay it with the version that recorded it\. States come from re-executing the run/);
  t.notRegex(old.stderr, /\.\.(?!\.)/);

});

test('view (and diff) --max-line-chars: a line over the default limit is refused naming the flag, and read with the limit raised', async (t) => {
  const dir = tempDir(t);
  const ran = await fedsim('run', 'scenarios/ping-pong.ts', '--out', join(dir, 'p'), '-q');
  t.is(ran.code, 0, ran.stderr);
  const log = join(dir, 'p', 'run.jsonl');
  // A mark whose label is longer than the default limit (1 MiB): a well-formed event line, only long.
  const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
  const last = JSON.parse(lines[lines.length - 1]) as { seq: number; t: number };
  lines.push(JSON.stringify({ seq: last.seq + 1, t: last.t, ev: 'mark', label: 'x'.repeat(1 << 20) }));
  writeFileSync(log, lines.join('\n') + '\n');

  const refused = await fedsim('view', log, '--no-states', '--out', join(dir, 'v.html'));
  t.is(refused.code, 2, refused.stderr);
  t.regex(refused.stderr, /line \d+: longer than 1,048,576 characters.*raise the limit: --max-line-chars N \(fedsim replay, diff and view take it/);
  const raised = await fedsim('view', log, '--no-states', '--max-line-chars', String(2 << 20), '--out', join(dir, 'v.html'));
  t.is(raised.code, 0, raised.stderr);
  t.regex(readFileSync(join(dir, 'v.html'), 'utf8'), /x{1000}/);

  // fedsim diff takes the flag too (one option for the commands that read logs).
  t.is((await fedsim('diff', log, log)).code, 2);
  const diffed = await fedsim('diff', log, log, '--max-line-chars', String(2 << 20));
  t.is(diffed.code, 0, diffed.stderr);
  t.regex(diffed.stdout, /identical/);

  const help = await fedsim('view', '--help');
  t.regex(help.stdout, /--max-line-chars <n>\s+longest log line accepted/);
  const zero = await fedsim('view', log, '--max-line-chars', '0');
  t.is(zero.code, 2);
  t.regex(zero.stderr, /--max-line-chars must be a positive integer, got '0'/);
});
