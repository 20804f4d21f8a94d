/**
 * `fedsim view`'s usage messages: option checks that happen before the log is read or
 * replayed (a port out of range, options that would be silently ignored: exit 2 naming the
 * flag), and the wording of its errors about the log (no doubled period, no option view lacks).
 */
import test from 'ava';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
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

  // A line over the limit: the hint names the option where it exists (replay), and says view has none.
  appendFileSync(log, 'x'.repeat((1 << 20) + 1) + '\n');
  const long = await fedsim('view', join(dir, 'p'), '--no-states', '--out', join(dir, 'v.html'));
  t.is(long.code, 2);
  t.regex(long.stderr, /raise the limit: fedsim replay --max-line-chars N \(or the maxLineChars option in code\); fedsim view reads lines up to the default limit only\./);
});
