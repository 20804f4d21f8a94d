/**
 * `fedsim sweep FILE`: a 2 × 2 sweep (lr × seeds) writes four run directories named after
 * their settings, each run with its settings and seed, and one comparison report over all
 * four; sweep files are validated with file:line errors (a typo, a repeated value, `seed` in
 * the grid, a key both set and swept, too many runs), and a grid value the experiment
 * refuses stops the sweep before any run starts.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenario, loadSweepFile, SweepFileError } from '../src/scenario/index.js';
import '../src/cli/experiment-kinds.js';
import { ROOT, fedsim, tempDir } from './helpers/fedsim-cli.js';

const TINY = join(ROOT, 'test/fixtures/fedavg-tiny.yaml');

function sweepFile(dir: string, body: string, name = 'sweep.yaml'): string {
  const file = join(dir, name);
  writeFileSync(file, `kind: sweep\nexperiment: ${TINY}\n${body}`);
  return file;
}

test('a 2 × 2 sweep writes four run directories named after their settings and one report over all of them', async (t) => {
  const dir = tempDir(t);
  const file = sweepFile(dir, 'set: { rounds: 2 }\ngrid: { lr: [0.01, 0.05] }\nseeds: [0, 1]\n');
  const out = join(dir, 'out');
  const ran = await fedsim('sweep', file, '--out', out, '-q');
  t.is(ran.code, 0, ran.stderr);
  const names = ['lr=0.01,seed=0', 'lr=0.01,seed=1', 'lr=0.05,seed=0', 'lr=0.05,seed=1'];
  t.deepEqual(readdirSync(out).sort(), [...names, 'compare.html'].sort());
  for (const name of names) {
    const results = JSON.parse(readFileSync(join(out, name, 'results.json'), 'utf8'));
    const [, lr, seed] = /lr=([\d.]+),seed=(\d)/.exec(name)!;
    t.is(results.seed, Number(seed), name);
    t.is(results.settings.lr, Number(lr), name);
    t.deepEqual(results.params, { rounds: 2, lr: Number(lr) }, name);
    t.true(existsSync(join(out, name, 'run.jsonl')));
  }
  const weights = names.map((name) => JSON.parse(readFileSync(join(out, name, 'results.json'), 'utf8')).result.weightsSha256);
  t.is(new Set(weights).size, 4, 'every run is a different run');
  const html = readFileSync(join(out, 'compare.html'), 'utf8');
  t.regex(html, /<h1>Sweep sweep<\/h1>/);
  for (const name of names) t.true(html.includes(`<title>${name}: (`), name);
  t.regex(html, /<tr class="differs"><th>seed<\/th><td>0<\/td><td>1<\/td><td>0<\/td><td>1<\/td><\/tr>/);
  t.regex(html, /<tr class="differs"><th>lr<\/th><td>0\.01<\/td><td>0\.01<\/td><td>0\.05<\/td><td>0\.05<\/td><\/tr>/);
  // A run of a sweep is the run `fedsim run` makes with the same settings: same log, byte for byte, and same weights.
  const alone = await fedsim('run', TINY, '--set', 'rounds=2', '--set', 'lr=0.05', '--seed', '1', '--out', join(dir, 'alone'), '-q');
  t.is(alone.code, 0, alone.stderr);
  const aloneResults = JSON.parse(readFileSync(join(dir, 'alone', 'results.json'), 'utf8'));
  const swept = JSON.parse(readFileSync(join(out, 'lr=0.05,seed=1', 'results.json'), 'utf8'));
  t.is(swept.log.sha256, aloneResults.log.sha256);
  t.is(swept.result.weightsSha256, aloneResults.result.weightsSha256);
  t.regex(ran.stdout, /sweep run 4\/4: lr=0\.05,seed=1/);
  t.regex(ran.stdout, /│ lr=0\.05,seed=1 +│ passed │/);
});

test('a grid value the experiment refuses stops the sweep before any run, naming the sweep file\'s line', async (t) => {
  const dir = tempDir(t);
  const file = sweepFile(dir, 'grid:\n  lr: [0.01]\n  lrr: [0.1, 0.2]\n');
  const out = join(dir, 'out');
  const ran = await fedsim('sweep', file, '--out', out);
  t.is(ran.code, 2);
  t.regex(ran.stderr, /- \S*sweep\.yaml:5 grid: lrr=0\.1: at \(top level\): unknown field 'lrr': did you mean 'lr'\?/);
  t.false(existsSync(out), 'nothing ran, nothing was written');
});

test('sweep files are checked like experiment files: file:line, what was expected, what to do', (t) => {
  const dir = tempDir(t);
  const refused = (body: string, message: RegExp, limits?: Record<string, number>) => {
    const error = t.throws(() => loadSweepFile(sweepFile(dir, body), limits), { instanceOf: SweepFileError });
    t.regex(error!.message, message);
  };
  refused('seed: [0, 1]\n', /sweep\.yaml:3:1: at \(top level\): unknown field 'seed': did you mean 'seeds'\?/);
  refused('grid: { lr: [] }\n', /sweep\.yaml:3:\d+: at grid\.lr: .*/);
  refused('grid: { lr: [0.1, 0.1] }\n', /sweep\.yaml:3:\d+: at grid\.lr: expected each value once .*, found 0\.1 twice/);
  refused('grid: { seed: [1, 2] }\n', /at grid\.seed: expected no `seed` key: list the seeds under `seeds:`/);
  refused('set: { lr: 0.1 }\ngrid: { lr: [0.2, 0.3] }\n', /sweep\.yaml:4:\d+: at grid\.lr: expected a key not also under `set:`/);
  refused('grid: { lr: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }\nseeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n', /at grid: expected at most 100 runs \(limit runs; raise it with `limits: \{ runs: N \}` in the file or --limit runs=N\), found 11 lr × 10 seeds = 110 runs/);
  refused('seeds: [0, 1, 2]\n', /at most 2 runs .* found 3 seeds = 3 runs/, { runs: 2 });
  refused('grid: { a: ["x/y", "x_y"] }\n', /two runs would share the directory name 'a=x_y'/);
  const error = t.throws(() => loadSweepFile(join(dir, 'none.yaml')), { instanceOf: SweepFileError });
  t.regex(error!.message, /Sweep file not found: .*none\.yaml/);
  writeFileSync(join(dir, 'experiment.yaml'), 'kind: fedavg\n');
  t.regex(t.throws(() => loadSweepFile(join(dir, 'experiment.yaml')))!.message, /a sweep file is a mapping with `kind: sweep`/);
  // A good one expands in order: the grid's keys as written, the last varying fastest, seeds innermost.
  const sweep = loadSweepFile(sweepFile(dir, 'set: { rounds: 1 }\ngrid: { lr: [0.1, 0.2], algorithm.name: [fedavg, fedavgm] }\nseeds: [3, 4]\n'));
  t.deepEqual(sweep.runs.map((r) => r.name), [
    'lr=0.1,algorithm.name=fedavg,seed=3', 'lr=0.1,algorithm.name=fedavg,seed=4', 'lr=0.1,algorithm.name=fedavgm,seed=3', 'lr=0.1,algorithm.name=fedavgm,seed=4',
    'lr=0.2,algorithm.name=fedavg,seed=3', 'lr=0.2,algorithm.name=fedavg,seed=4', 'lr=0.2,algorithm.name=fedavgm,seed=3', 'lr=0.2,algorithm.name=fedavgm,seed=4',
  ]);
  t.deepEqual(sweep.runs[5].params, { rounds: 1, lr: 0.2, 'algorithm.name': 'fedavg' });
  t.is(sweep.runs[5].seed, 4);
});

test('the sweep file the README shows loads: 2 lr × 2 mu × 2 seeds, every run a valid experiment', async (t) => {
  const sweep = loadSweepFile(join(ROOT, 'scenarios/sweeps/synthetic-fedprox-lr-mu.yaml'));
  t.is(sweep.runs.length, 8);
  t.is(sweep.runs[0].name, 'lr=0.01,algorithm.mu=0,seed=0');
  for (const run of sweep.runs) await t.notThrowsAsync(loadScenario(sweep.experiment, { params: run.params, paramFlags: sweep.paramFlags }), run.name);
});

test('fedsim run on a sweep file says to use fedsim sweep', async (t) => {
  const ran = await fedsim('run', 'scenarios/sweeps/synthetic-fedprox-lr-mu.yaml', '--out', join(tempDir(t), 'never'));
  t.is(ran.code, 2);
  t.regex(ran.stderr, /scenarios\/sweeps\/synthetic-fedprox-lr-mu\.yaml is a sweep file \(kind: sweep\), not one experiment: run it with `fedsim sweep scenarios\/sweeps\/synthetic-fedprox-lr-mu\.yaml`/);
});
