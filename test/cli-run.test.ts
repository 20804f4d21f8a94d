import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLog } from '../src/runtime/index.js';
import { fedsim, tempDir } from './helpers/fedsim-cli.js';

test('--help explains the commands, with examples and exit codes', async (t) => {
  const { code, stdout } = await fedsim('--help');
  t.is(code, 0);
  for (const word of ['run', 'replay', 'diff', 'explore', 'Examples:', 'Exit codes']) t.true(stdout.includes(word), word);
  const run = await fedsim('run', '--help');
  t.is(run.code, 0);
  for (const word of ['--seed', '--faults', '--record', '--strict', '--backend', '--out', 'Examples:']) t.true(run.stdout.includes(word), word);
});

test('run writes the log, results.json and a self-contained report.html, and exits 0 when the checks hold', async (t) => {
  const out = tempDir(t);
  const { code, stdout } = await fedsim('run', 'scenarios/ping-pong.ts', '--seed', '3', '--out', out);
  t.is(code, 0, stdout);
  t.regex(stdout, /ping-pong passed/);
  t.regex(stdout, /✓ every pong answers the latest ping/);
  t.true(stdout.includes(join(out, 'report.html')), 'prints where the report is');
  t.true(stdout.includes(join(out, 'run.jsonl')), 'prints where the log is');

  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  t.is(results.seed, 3);
  t.true(results.ok);
  t.is(results.checks.length, 3);
  t.true(results.stats.events > 50);
  t.is(results.result.metrics.length, 2);

  const html = readFileSync(join(out, 'report.html'), 'utf8');
  t.true(html.includes('<svg class="chart"'), 'a metrics chart');
  t.true(html.includes('<svg class="lanes"'), 'a lane diagram');
  t.false(/https?:\/\//.test(html), 'no network resources');
  t.false(/<script|<link/.test(html));

  const log = readLog(join(out, 'run.jsonl'));
  t.is(log.header.seed, 3);
  t.is(log.header.scenario?.path, 'scenarios/ping-pong.ts');
  t.is(log.lines.length, results.stats.events);
});

test('run exits 1 when a check fails, and --record puts the log where asked', async (t) => {
  const out = tempDir(t);
  const record = join(out, 'elsewhere', 'stale.jsonl');
  const { code, stdout } = await fedsim('run', 'scenarios/stale-update-bug.ts', '--seed', '1', '--faults', 'scenarios/faults/stale-update.json', '--out', out, '--record', record);
  t.is(code, 1);
  t.regex(stdout, /✗ every aggregated update belongs to the current round: round \d+ aggregated client-\d's update from round \d+ \(stale\)/);
  t.regex(stdout, /FAILED/);
  t.true(existsSync(record));
  t.false(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).ok);
});

test('a YAML experiment (kind: module) runs its module with the seed and faults it names', async (t) => {
  const out = tempDir(t);
  const { code, stdout } = await fedsim('run', 'scenarios/stale-update-delays.yaml', '--out', out, '-q');
  t.is(code, 1, 'the planted bug shows under the file\'s fault plan');
  t.regex(stdout, /seed 1/);
  const log = readLog(join(out, 'run.jsonl'));
  t.is(log.header.scenario?.path, 'scenarios/stale-update-delays.yaml');
  t.is(log.header.faults.links.length, 4);
});

test('usage errors exit 2 with a clear message', async (t) => {
  const unknownFlag = await fedsim('run', 'scenarios/ping-pong.ts', '--sede', '3');
  t.is(unknownFlag.code, 2);
  t.regex(unknownFlag.stderr, /unknown option '--sede'/);

  const missing = await fedsim('run', 'scenarios/nope.ts');
  t.is(missing.code, 2);
  t.regex(missing.stderr, /Scenario file not found: scenarios\/nope\.ts/);

  const dir = tempDir(t);
  const bad = join(dir, 'bad-plan.json');
  writeFileSync(bad, JSON.stringify({ drop: 1.5, links: [{ from: 'a', dleay: 2 }] }));
  const badPlan = await fedsim('run', 'scenarios/ping-pong.ts', '--faults', bad);
  t.is(badPlan.code, 2);
  t.true(badPlan.stderr.includes('bad-plan.json is not a valid fault plan'));
  t.regex(badPlan.stderr, /at drop: a rate is a probability in \[0, 1\]/);

  const noPlan = await fedsim('run', 'scenarios/ping-pong.ts', '--faults', join(dir, 'absent.json'));
  t.is(noPlan.code, 2);
  t.regex(noPlan.stderr, /Fault plan file not found: .*absent\.json/);

  const badSeeds = await fedsim('explore', 'scenarios/ping-pong.ts', '--seeds', 'lots');
  t.is(badSeeds.code, 2);
  t.regex(badSeeds.stderr, /use a range 1\.\.500/);
});
