/**
 * `fedsim run FILE --workers N`: an experiment file trained in worker threads writes the
 * log and results of the one-thread run (and `fedsim replay` of it, on one thread, matches);
 * a worker count that is not a whole number from 1 to 64 is a usage error naming the flag.
 */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fedsim, tempDir } from './helpers/fedsim-cli.js';
import { TINY_FEDAVG_FIELDS, yamlLines } from './helpers/tiny-experiment.js';

for (const value of ['0', '-1', 'x', '2.5', '65']) {
  test(`--workers ${value} is a usage error naming the flag, before anything runs`, async (t) => {
    const dir = tempDir(t);
    const { code, stderr } = await fedsim('run', 'scenarios/default.yaml', `--workers=${value}`, '--out', join(dir, 'out'));
    t.is(code, 2);
    t.regex(stderr, new RegExp(`--workers: expected a whole number of worker threads from 1 to 64, got "${value.replace('.', '\\.')}"`));
  });
}

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
  const replay = await fedsim('replay', join(dir, 'two', 'run.jsonl'), '-q');
  t.is(replay.code, 0, replay.stderr);
  t.regex(replay.stdout, /replay OK/);
});
