/**
 * `fedsim view` as a command: clear errors for a missing or damaged run, a log whose
 * scenario cannot be re-executed, a --diff run of another scenario; the same bytes for
 * the same run; and --serve, whose page asks the process for the exact state at an event
 * the written page did not keep (checked in chromium against `fedsim replay --until`).
 */
import test from 'ava';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CliError } from '../src/cli/cli-error.js';
import { viewCommand } from '../src/cli/commands/view.js';
import { captureStates } from '../src/viewer/state-capture.js';
import { launchBrowser, openViewer } from './helpers/browser.js';
import { fedsim } from './helpers/fedsim-cli.js';
import { writeSyntheticLog } from './helpers/synthetic-log.js';

const dir = mkdtempSync(join(tmpdir(), 'fedsim-view-cli-'));
const stale = join(dir, 'stale');
const log = join(stale, 'run.jsonl');

test.before(async () => {
  const [a, b] = await Promise.all([
    fedsim('run', 'scenarios/stale-update-delays.yaml', '--out', stale, '-q'),
    fedsim('run', 'scenarios/ping-pong.ts', '--seed', '3', '--out', join(dir, 'ping'), '-q'),
  ]);
  if (a.code !== 1 || b.code !== 0) throw new Error(`recording failed:\n${a.stderr}\n${b.stderr}`);
});

test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the stale run's log with line `lineNumber` (1 = the header) replaced. */
function damaged(name: string, lineNumber: number, replace: (line: string) => string): string {
  const lines = readFileSync(log, 'utf8').split('\n');
  lines[lineNumber - 1] = replace(lines[lineNumber - 1]);
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n'));
  return path;
}

/** What `fedsim view` refuses with (run in this process: a CliError carries the message and exit code). */
async function refusal(run: string, options: Parameters<typeof viewCommand>[1] = {}): Promise<{ message: string; exitCode: number }> {
  try {
    await viewCommand(run, { out: join(dir, 'refused.html'), ...options });
  } catch (error) {
    if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
    throw error;
  }
  throw new Error(`fedsim view ${run} was expected to fail`);
}

test('a missing run, a directory without a log, and a file that is no log are refused with what to give', async (t) => {
  mkdirSync(join(dir, 'empty'));
  writeFileSync(join(dir, 'notes.txt'), 'hello\n');
  const missing = await fedsim('view', join(dir, 'nope'));
  t.is(missing.code, 2);
  t.regex(missing.stderr, /RUN .*nope does not exist; give the directory `fedsim run FILE --out DIR` wrote, its run\.jsonl, or its results\.json/);
  const empty = await refusal(join(dir, 'empty'));
  t.is(empty.exitCode, 2);
  t.regex(empty.message, /empty has no run\.jsonl, so it is not a finished run's directory/);
  t.regex((await refusal(join(dir, 'notes.txt'))).message, /notes\.txt is neither a run directory nor an event log \(\.jsonl\)/);
});

test('a log line that does not parse is named by its line number', async (t) => {
  const broken = await refusal(damaged('broken.jsonl', 12, (line) => line.slice(0, 30)), { states: false });
  t.is(broken.exitCode, 2);
  t.regex(broken.message, /broken\.jsonl, line 12: not valid JSON \(the log is corrupt or was edited\)/);
  const unknown = await refusal(damaged('unknown-kind.jsonl', 7, (line) => line.replace('"ev":"sent"', '"ev":"teleported"')), { states: false });
  t.regex(unknown.message, /unknown-kind\.jsonl, line 7: unknown event kind "teleported"/);
});

test('--diff with a run of another scenario is refused; a log whose scenario changed cannot show states', async (t) => {
  const other = await refusal(stale, { diff: join(dir, 'ping'), states: false });
  t.is(other.exitCode, 2);
  t.regex(other.message, /--diff .*ping is a run of scenario 'ping-pong', but .*stale is a run of 'stale-update-bug'/);
  const changed = await refusal(damaged('edited-sha.jsonl', 1, (header) => header.replace(/"sha256":"[0-9a-f]{64}"/, `"sha256":"${'0'.repeat(64)}"`)));
  t.is(changed.exitCode, 1);
  t.regex(changed.message, /cannot show the actors' states of .*edited-sha\.jsonl: .*view the log without them with --no-states/);
});

test('the same run gives the same bytes, with nothing fetched from the network', async (t) => {
  await viewCommand(stale, { out: join(dir, 'a.html') });
  await viewCommand(stale, { out: join(dir, 'b.html') });
  const html = readFileSync(join(dir, 'a.html'));
  t.true(html.equals(readFileSync(join(dir, 'b.html'))));
  t.notRegex(html.toString(), /(src|href)\s*=\s*["']?(https?:)?\/\//i);
});

/** GET with an explicit Host header. */
function get(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('--serve: on 127.0.0.1, the page gets the exact state of an event the page did not keep, as fedsim replay --until has it', async (t) => {
  const seq = 60;
  const replay = fedsim('replay', log, '--until', String(seq));
  let served!: { url: string; close: () => Promise<void> };
  await viewCommand(stale, { serve: true, port: 0, stateEvery: 50, onServing: (url, close) => (served = { url, close }) });
  t.teardown(() => served.close());
  t.regex(served.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  t.is(await get(served.url, 'evil.example:80'), 403);

  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const { page, errors } = await openViewer(browser, served.url);
  await page.fill('#search', `#${seq}`);
  await page.press('#search', 'Enter');
  await page.waitForSelector('#states .note[data-exact="true"]');
  t.regex((await page.textContent('#states .note'))!, /replayed by fedsim just now/);
  const shown = await page.$$eval('#states .actor-state pre', (pres) => pres.map((p) => p.textContent + '\n').join('\n'));
  const { stdout } = await replay;
  const expected = stdout.slice(stdout.indexOf('\n\n', stdout.indexOf(`  seq ${seq}  `)) + 2);
  t.is(shown, expected);
  t.deepEqual(errors, []);
});

test('rounds an FL run skipped (results.json) are listed, and each leads to the time it ended', async (t) => {
  const run = join(dir, 'fl-like');
  mkdirSync(run);
  writeSyntheticLog(join(run, 'run.jsonl'), 400);
  const perRound = [
    { round: 1, startedAt: 0, endedAt: 50 },
    { round: 2, startedAt: 50, endedAt: 120.5, skipped: 'no client answered before the deadline' },
  ];
  writeFileSync(join(run, 'results.json'), JSON.stringify({ ok: true, result: { perRound } }));
  await viewCommand(run, { states: false });
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const { page, errors } = await openViewer(browser, pathToFileURL(join(run, 'viewer.html')).href);
  t.regex((await page.textContent('#skipped'))!, /^1 round skipped \(the model did not change\):round 2$/);
  t.is(await page.getAttribute('#skipped button', 'title'), 'no client answered before the deadline (ended t=120.5 ms)');
  await page.click('#skipped button');
  // Message k is sent at seq 2k at time k: the first event at or after t=120.5 is seq 242.
  t.is(await page.getAttribute('body', 'data-selected'), '242');
  t.deepEqual(errors, []);
});

test('states kept every K events are the exact states of the sampled steps and of the run\'s last events', async (t) => {
  const all = await captureStates(log, { every: 1 });
  const sampled = await captureStates(log, { every: 50 });
  const events = all.events;
  // Every step at every boundary: the captures tile the log.
  t.deepEqual(all.from.slice(1), all.to.slice(0, -1).map((to) => to + 1));
  t.is(all.to[all.to.length - 1], events - 1);
  const textAt = (timeline: typeof all, capture: number) =>
    timeline.actors.map((id, a) => {
      const changes = timeline.changes[a];
      let text = -1;
      changes.at.forEach((at, i) => at <= capture && (text = changes.text[i]));
      return text < 0 ? null : `${id}: ${timeline.texts[text]}`;
    });
  const exactSeqs: number[] = [];
  sampled.from.forEach((from, c) => {
    const to = sampled.to[c];
    // Each kept state covers a sampled seq (49, 99, …) or the last events, and is the every-step state there.
    t.true(Array.from({ length: to - from + 1 }, (_, i) => from + i).some((seq) => seq % 50 === 49 || seq === events - 1), `capture ${from}-${to}`);
    const same = all.from.findIndex((f, i) => f === from && all.to[i] === to);
    t.true(same >= 0, `capture ${from}-${to} is one step`);
    t.deepEqual(textAt(sampled, c), textAt(all, same));
    exactSeqs.push(to);
  });
  t.deepEqual(sampled.to.map((to) => Math.floor((to + 1) / 50)).slice(0, -1), [1, 2, 3].slice(0, sampled.to.length - 1));
  t.is(exactSeqs[exactSeqs.length - 1], events - 1);
});
