/**
 * `fedsim view` option checks that happen before the log is read or replayed: a port out of
 * range, and options that would be silently ignored, are usage errors (exit 2) naming the flag.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
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
