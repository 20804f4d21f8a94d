/**
 * `fedsim compare RUN…` and `--set`:
 *   - two runs of one experiment with different lr: the report overlays both runs' curves,
 *     highlights lr (and only what differs), and prints a table with lr;
 *   - the report is a pure function of the runs: the same runs give the same bytes;
 *   - a missing run, a directory that is no run, an unfinished run, damaged JSON, a module
 *     scenario's results.json, and runs of different kinds are refused, naming the path;
 *   - --set is --param's documented name: the same settings give the same run; an unknown
 *     key (a typo, a field where the experiment has none) is refused with the valid one named.
 */
import anyTest, { type TestFn } from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../src/cli/cli-error.js';
import { compareReport } from '../src/cli/commands/compare.js';
import { compareRuns } from '../src/cli/compare/comparison.js';
import { readRunResults } from '../src/cli/compare/read-run.js';
import { fedsim, tempDir } from './helpers/fedsim-cli.js';

const TINY = 'test/fixtures/fedavg-tiny.yaml';

const test = anyTest as TestFn<{ dir: string; slow: string; fast: string; fastParam: string; pingPong: string }>;

// Shared runs (each CLI spawn costs seconds): lr 0.01 and 0.05 with --set, 0.05 again with --param, and ping-pong.
test.before(async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-compare-'));
  const context = { dir, slow: join(dir, 'lr-0.01'), fast: join(dir, 'lr-0.05'), fastParam: join(dir, 'lr-0.05-param'), pingPong: join(dir, 'ping-pong') };
  const runs = await Promise.all([
    fedsim('run', TINY, '--set', 'lr=0.01', '--out', context.slow, '-q'),
    fedsim('run', TINY, '--set', 'lr=0.05', '--out', context.fast, '-q'),
    fedsim('run', TINY, '--param', 'lr=0.05', '--out', context.fastParam, '-q'),
    fedsim('run', 'scenarios/ping-pong.ts', '--out', context.pingPong, '-q'),
  ]);
  for (const run of runs) if (run.code !== 0) throw new Error(`a shared run failed:\n${run.stdout}\n${run.stderr}`);
  t.context = context;
});
test.after.always((t) => {
  if (t.context.dir) rmSync(t.context.dir, { recursive: true, force: true });
});

test('compare overlays both runs, highlights lr and only what differs, and prints a table', async (t) => {
  const out = join(tempDir(t), 'lr.html');
  const ran = await fedsim('compare', t.context.slow, join(t.context.fast, 'results.json'), '--out', out);
  t.is(ran.code, 0, ran.stderr);
  const html = readFileSync(out, 'utf8');
  // One series per run in each chart: the legend and every point's tooltip name the run.
  for (const chart of ['test accuracy', 'test accuracy vs virtual time', 'test loss', 'test loss vs virtual time', 'bytes sent per round (up + down)', 'bytes sent, cumulative']) {
    t.true(html.includes(`aria-label="${chart}"`), chart);
  }
  t.is(html.match(/<title>lr-0\.01: \(/g)?.length, 12, 'the 0.01 run has its two rounds\' points in all six charts');
  t.is(html.match(/<title>lr-0\.05: \(/g)?.length, 12);
  t.regex(html, /<tr class="differs"><th>lr<\/th><td>0\.01<\/td><td>0\.05<\/td><\/tr>/);
  t.regex(html, /<tr><th>seed<\/th><td>5<\/td><td>5<\/td><\/tr>/, 'the same seed is not highlighted');
  t.regex(html, /<tr><th>data\.devices<\/th><td>3<\/td><td>3<\/td><\/tr>/);
  t.regex(html, /<tr><th>faults<\/th><td>[^<]*delay/, 'the fault plan is described');
  t.deepEqual(
    [...html.matchAll(/<tr class="differs"><th>([^<]+)</g)].map((m) => m[1]),
    ['lr', '--set'],
  );
  t.regex(ran.stdout, /│ run +│ status │ final acc\. │ rounds │ virtual time │ lr +│/);
  t.regex(ran.stdout, /│ lr-0\.01 +│ passed │ 0\.\d{4} +│ 2 +│ [\d.]+ (ms|s) +│ 0\.01 │/);
  t.regex(ran.stdout, /│ lr-0\.05 +│ passed │/);
  t.notRegex(html, /\d{4}-\d\d-\d\dT/, 'no timestamps');
});

test('the report is a pure function of the runs: the same runs give the same bytes, wherever it is written from', async (t) => {
  const dir = tempDir(t);
  const [first, second] = await Promise.all([
    fedsim('compare', t.context.slow, t.context.fast, '--out', join(dir, 'one.html')),
    fedsim('compare', t.context.slow, t.context.fast, '--out', join(dir, 'two.html')),
  ]);
  t.is(first.code, 0, first.stderr);
  t.is(second.code, 0, second.stderr);
  t.true(readFileSync(join(dir, 'one.html')).equals(readFileSync(join(dir, 'two.html'))));
  // In-process, the same: no clock, no randomness, links relative to the report.
  const runs = () => [readRunResults(t.context.slow), readRunResults(t.context.fast)];
  t.is(compareReport(runs(), join(dir, 'one.html')).html, readFileSync(join(dir, 'one.html'), 'utf8'));
  t.regex(readFileSync(join(dir, 'one.html'), 'utf8'), /href="\.\.\/[^"]*lr-0\.01\/results\.json"/);
});

test('runs that are not there, not finished, damaged or not runs are refused, naming the path and what to do', (t) => {
  const dir = tempDir(t);
  const refused = (path: string, message: RegExp) => {
    const error = t.throws(() => readRunResults(path), { instanceOf: CliError });
    t.regex(error!.message, message);
    t.is(error!.exitCode, 2);
  };
  refused(join(dir, 'nope'), /compare: .*nope: no such file or directory; give a directory written by `fedsim run FILE --out DIR`, or its results\.json\./);
  mkdirSync(join(dir, 'empty'));
  refused(join(dir, 'empty'), /empty has no results\.json, so it is not a run directory/);
  mkdirSync(join(dir, 'stopped'));
  writeFileSync(join(dir, 'stopped', 'run.jsonl.partial'), '');
  refused(join(dir, 'stopped'), /stopped holds a run that did not finish \(only \.partial outputs\): run it again to completion/);
  mkdirSync(join(dir, 'damaged'));
  writeFileSync(join(dir, 'damaged', 'results.json'), readFileSync(join(t.context.slow, 'results.json'), 'utf8').slice(0, 200));
  refused(join(dir, 'damaged'), /damaged\/results\.json is not valid JSON \(.+\); the file is damaged: run the experiment again/);
  writeFileSync(join(dir, 'other.json'), '{"rounds": 3}');
  refused(join(dir, 'other.json'), /other\.json is JSON but not a results\.json written by fedsim run/);
  const edited = JSON.parse(readFileSync(join(t.context.slow, 'results.json'), 'utf8'));
  edited.result.perRound[1] = { testAccuracy: 0.5 };
  mkdirSync(join(dir, 'edited'));
  writeFileSync(join(dir, 'edited', 'results.json'), JSON.stringify(edited));
  refused(join(dir, 'edited'), /edited\/results\.json: result\.perRound\[1\] has no round number/);
});

test('a module scenario\'s run has no per-round metrics: compared alone or with an experiment, it is refused by name', async (t) => {
  const alone = t.throws(() => compareRuns([readRunResults(t.context.pingPong)]), { instanceOf: CliError });
  t.regex(alone!.message, /^compare: nothing to compare: .*ping-pong is a run of the module scenario 'ping-pong', which records no per-round metrics\..*fedsim diff/);
  const ran = await fedsim('compare', t.context.slow, t.context.pingPong, '--out', join(tempDir(t), 'x.html'));
  t.is(ran.code, 2);
  t.regex(ran.stderr, /compare: runs of different kinds: .*ping-pong is a run of the module scenario 'ping-pong', which records no per-round metrics\. .*give only such runs/);
  t.is(ran.stdout, '');
});

test('--set and --param are one thing: the same value gives the same run, and results.json records it', (t) => {
  const read = (dir: string) => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
  const set = read(t.context.fast);
  const param = read(t.context.fastParam);
  t.is(set.result.weightsSha256, param.result.weightsSha256);
  t.deepEqual(set.settings, param.settings);
  t.is(set.settings.lr, 0.05);
  t.deepEqual(set.params, { lr: 0.05 });
  t.not(read(t.context.slow).result.weightsSha256, set.result.weightsSha256, 'lr reaches the run');
});

test('--set with an unknown key is refused with the valid key named; --set and --param on one key is refused', async (t) => {
  const out = join(tempDir(t), 'never');
  const typo = await fedsim('run', TINY, '--set', 'lrr=0.1', '--out', out);
  t.is(typo.code, 2);
  t.regex(typo.stderr, /--set lrr=0\.1: at \(top level\): unknown field 'lrr': did you mean 'lr'\?/);
  // strategy is the scheduler's (a string): mu belongs to the FL algorithm.
  const misplaced = await fedsim('run', TINY, '--set', 'strategy.mu=0.1', '--out', out);
  t.is(misplaced.code, 2);
  t.regex(misplaced.stderr, /- --set strategy\.mu=0\.1: at strategy: .*\(--set strategy\.mu=0\.1 sets 'mu' inside strategy; did you mean algorithm\.mu\?\)/);
  const both = await fedsim('run', TINY, '--set', 'lr=0.1', '--param', 'lr=0.2', '--out', out);
  t.is(both.code, 2);
  t.regex(both.stderr, /--set lr=… and --param lr=… both set 'lr': give it once/);
});

test('a results.json from before fedsim recorded settings is compared on what it has, and said so', (t) => {
  const dir = tempDir(t);
  const old = JSON.parse(readFileSync(join(t.context.slow, 'results.json'), 'utf8'));
  delete old.settings;
  delete old.params;
  mkdirSync(join(dir, 'old'));
  writeFileSync(join(dir, 'old', 'results.json'), JSON.stringify(old));
  const comparison = compareRuns([readRunResults(join(dir, 'old')), readRunResults(t.context.fast)]);
  t.deepEqual(comparison.withoutSettings, ['old']);
  const lr = comparison.settings.find((s) => s.key === 'lr')!;
  t.deepEqual(lr.values, [undefined, '0.05']);
  t.true(lr.differs);
  t.deepEqual(comparison.settings.find((s) => s.key === 'seed')!.values, ['5', '5']);
  t.is(comparison.runs[0].finalTestAccuracy, old.result.finalTestAccuracy);
});
