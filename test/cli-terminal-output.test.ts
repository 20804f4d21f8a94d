/**
 * What the commands print, checked in process (no CLI process to start):
 *   - user text (a scenario name, a check's message, what a scenario printed, a path) is
 *     shown with its control characters escaped, never sent to the terminal raw;
 *   - `fedsim diff` counts header differences (another seed): exit 1 naming the fields,
 *     unless --ignore-header;
 *   - replay of a log with only its header says there is nothing to replay (no advice to
 *     use `--until -1`, which is refused).
 */
import anyTest, { type TestFn } from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffCommand } from '../src/cli/commands/diff.js';
import { replayCommand } from '../src/cli/commands/replay.js';
import { runCommand } from '../src/cli/commands/run.js';
import { terminalText } from '../src/cli/terminal-text.js';
import { loadScenario, runScenario } from '../src/scenario/index.js';
import '../src/cli/experiment-kinds.js';
import { ROOT, tempDir } from './helpers/fedsim-cli.js';

// Serial: each test replaces process.stdout.write while it runs.
const test = anyTest.serial as unknown as TestFn;

async function printed(command: () => Promise<number> | number): Promise<{ code: number; stdout: string; stderr: string }> {
  const [out, err] = [process.stdout.write, process.stderr.write];
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  try {
    return { code: await command(), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** Every control character, DEL, C1, and a bidi override: none may reach the terminal raw. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

test('terminalText escapes every control character (C0, DEL, C1, bidi overrides), keeping line feeds only when asked', (t) => {
  t.is(terminalText('\u001b[2J\u001b[31mred'), '\\x1b[2J\\x1b[31mred');
  t.is(terminalText('a\rb\tc\nd\u007f\u009b\u202eé'), 'a\\rb\\tc\\nd\\x7f\\x9b\\u202eé');
  t.is(terminalText('line 1\nline\r2', { lines: true }), 'line 1\nline\\r2');
  for (let code = 0; code < 0x3000; code++) {
    const shown = terminalText(String.fromCharCode(code));
    t.false(RAW_CONTROL.test(shown) || shown.includes('\n'), `U+${code.toString(16)}`);
  }
});

test('a scenario name, check message, transcript and result string with escape sequences are printed escaped', async (t) => {
  const dir = tempDir(t, 'fedsim-escape-');
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  const fedsimScenario = JSON.stringify(join(ROOT, 'src/scenario/index.ts'));
  writeFileSync(
    join(dir, 'escape.mts'),
    `import { defineScenario } from ${fedsimScenario};\n` +
      'export default defineScenario({ name: "\\u001b[2J\\u001b[31mevil", run: async () => ({ sigintListeners: process.listenerCount("SIGINT"), printed: ["\\u001b]0;title\\u0007"], note: "\\r\\u009b1m" }),\n' +
      '  checks: { "\\u001b[1mcheck": () => "bad\\u001b[0m\\rtext" } });\n',
  );
  const listenersBefore = process.listenerCount('SIGINT');
  const ran = await printed(() => runCommand(join(dir, 'escape.mts'), { out: join(dir, 'out\u001b[7m'), quiet: true }));
  t.is(ran.code, 1);
  // No SIGINT listener while scenario code runs (one would make Ctrl-C wait for synchronous scenario code to return).
  t.regex(ran.stdout, new RegExp(`│ sigintListeners +│ ${listenersBefore} +│`));
  t.is(process.listenerCount('SIGINT'), listenersBefore);
  for (const [name, text] of Object.entries(ran)) if (typeof text === 'string') t.false(RAW_CONTROL.test(text), `${name}: ${JSON.stringify(text)}`);
  t.regex(ran.stdout, /fedsim run \\x1b\[2J\\x1b\[31mevil/);
  t.regex(ran.stdout, /\\x1b\]0;title\\x07/);
  t.regex(ran.stdout, /\\x1b\[1mcheck: bad\\x1b\[0m\\rtext/);
  t.regex(ran.stdout, /\\x1b\[2J\\x1b\[31mevil FAILED/);
  t.regex(ran.stdout, /out\\x1b\[7m/);
  // The name is data: the log and results.json keep it as it was.
  t.is(JSON.parse(readFileSync(join(dir, 'out\u001b[7m', 'results.json'), 'utf8')).scenario.name, '\u001b[2J\u001b[31mevil');
  const replayed = await printed(() => replayCommand(join(dir, 'out\u001b[7m', 'run.jsonl'), { quiet: true, project: dir }));
  t.is(replayed.code, 0, replayed.stderr);
  t.false(RAW_CONTROL.test(replayed.stdout + replayed.stderr));
  t.regex(replayed.stdout, /\(\\x1b\[2J\\x1b\[31mevil, seed 0/);
});

async function pingPongLog(dir: string, seed: number): Promise<string> {
  const log = join(dir, `seed${seed}.jsonl`);
  const outcome = await runScenario(await loadScenario(join(ROOT, 'scenarios/ping-pong.ts')), { seed, record: log });
  if (!outcome.ok) throw new Error(String(outcome.error));
  return log;
}

/** A copy of `log` whose header has `field` set to `value`; the events are the same. */
function withHeaderField(log: string, field: string, value: unknown, to: string): string {
  const [header, ...rest] = readFileSync(log, 'utf8').split('\n');
  writeFileSync(to, [JSON.stringify({ ...JSON.parse(header), [field]: value }), ...rest].join('\n'));
  return to;
}

test('diff: logs whose headers differ (seed, faults) but whose events are the same differ (exit 1), unless --ignore-header', async (t) => {
  const dir = tempDir(t, 'fedsim-diff-');
  const log = await pingPongLog(dir, 1);
  const same = await printed(() => diffCommand(log, log, {}));
  t.is(same.code, 0);
  t.regex(same.stdout, /identical: \d+ events, same header/);
  const otherSeed = withHeaderField(log, 'seed', 2, join(dir, 'seed2-header.jsonl'));
  const differ = await printed(() => diffCommand(log, otherSeed, {}));
  t.is(differ.code, 1);
  t.regex(differ.stdout, /the headers differ in: seed \(the \d+ events are identical; --ignore-header compares only the events\)/);
  t.regex(differ.stdout, /seed: 1 {2}vs {2}2/);
  const ignored = await printed(() => diffCommand(log, otherSeed, { ignoreHeader: true }));
  t.is(ignored.code, 0);
  t.regex(ignored.stdout, /the events are identical: \d+ events \(--ignore-header; the headers differ in: seed\)/);
});

test('replay of a log with only its header says there is nothing to replay, and --until says there are no events', async (t) => {
  const dir = tempDir(t, 'fedsim-header-only-');
  const log = await pingPongLog(dir, 1);
  const headerOnly = join(dir, 'header-only.jsonl');
  writeFileSync(headerOnly, readFileSync(log, 'utf8').split('\n')[0] + '\n');
  const replayed = await printed(() => replayCommand(headerOnly, { quiet: true }));
  t.is(replayed.code, 1);
  t.regex(replayed.stdout, /The log has no events, only its header: .* there is nothing to replay\./);
  t.false(replayed.stdout.includes('--until -1'));
  await t.throwsAsync(replayCommand(headerOnly, { quiet: true, until: 0 }), { name: 'CliError', message: '--until 0: the log has no events (only its header): there is nothing to stop at.' });
});
