/**
 * `fedsim run FILE --workers N`: an experiment file trained in worker threads writes the
 * log and results of the one-thread run (and `fedsim replay` of it, on one thread, matches);
 * a worker count that is not a whole number from 1 to 64 is a usage error naming the flag.
 */
import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fedsim, tempDir } from './helpers/fedsim-cli.js';
import { TINY_FEDAVG_FIELDS, yamlLines } from './helpers/tiny-experiment.js';

test('--workers 0, -1, x, 2.5 and 65 are usage errors naming the flag, the value and the range, before anything runs', async (t) => {
  const dir = tempDir(t);
  for (const value of ['0', '-1', 'x', '2.5', '65']) {
    const out = join(dir, `out-${value}`);
    const { code, stderr } = await fedsim('run', 'scenarios/default.yaml', `--workers=${value}`, '--out', out);
    t.is(code, 2, value);
    t.true(stderr.includes(`--workers: expected a whole number of worker threads from 1 to 64, got "${value}"`), stderr);
    t.false(existsSync(out), `nothing was written for --workers ${value}`);
  }
});

test('an experiment run with --workers 2 writes the one-thread run, and replays on one thread', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'experiment.yaml');
  writeFileSync(file, yamlLines({ ...TINY_FEDAVG_FIELDS, data: '{ source: synthetic, alpha: 1, beta: 1, devices: 12, features: 6, classes: 3, maxSamplesPerDevice: 30 }', rounds: '2', fraction: '0.5' }));
  const one = await fedsim('run', file, '--out', join(dir, 'one'), '--quiet');
  const two = await fedsim('run', file, '--workers', '2', '--out', join(dir, 'two'), '--quiet');
  t.is(one.code, 0, one.stderr);
  t.is(two.code, 0, two.stderr);
  const results = (name: string) => JSON.parse(readFileSync(join(dir, name, 'results.json'), 'utf8'));
  t.is(results('two').result.weightsSha256, results('one').result.weightsSha256);
  t.is(readFileSync(join(dir, 'two', 'run.jsonl'), 'utf8'), readFileSync(join(dir, 'one', 'run.jsonl'), 'utf8'));
  const replay = await fedsim('replay', join(dir, 'two', 'run.jsonl'), '--project', dir, '-q');
  t.is(replay.code, 0, replay.stderr);
  t.regex(replay.stdout, /replay OK/);
});
