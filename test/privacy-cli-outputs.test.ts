/**
 * Issue #12, item 2 (end to end): a scenario that attacks a worker's private data through
 * failing ops, and reports every error it gets — in what it prints, what it returns and a
 * failing check — run with the real `fedsim run`. No element of the data may appear in
 * stdout, stderr, results.json, report.html or the event log.
 */
import test from 'ava';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fedsim, ROOT, tempDir } from './helpers/fedsim-cli.js';

const SECRET = [4817263, 5930281, 7719043];

const scenario = (root: string) => `
import * as tf from '@tensorflow/tfjs';
import { hook, rt } from '${join(root, 'src', 'index.js')}';
import { defineScenario } from '${join(root, 'src', 'scenario', 'index.js')}';

export default defineScenario({
  name: 'error-leaks',
  seed: 5,
  run: async (sim) => {
    hook(tf);
    const bob = sim.worker('bob');
    const alice = sim.worker('alice');
    const carol = sim.worker('carol');
    const ints = bob.load(tf.tensor(${JSON.stringify(SECRET)}, undefined, 'int32'), { allowedUsers: ['bob'] });
    const floats = bob.load(tf.tensor(${JSON.stringify(SECRET)}), { allowedUsers: ['bob'] });
    const table = tf.tensor([1, 2, 3]).send(bob);
    const attempts = [
      () => rt.gather(table, ints).get(),
      () => rt.gather(table, ints.sub(tf.scalar(1, 'int32').send(bob))).getShape().then(() => rt.gather(floats, tf.tensor([9], undefined, 'int32').send(bob)).get()),
      () => floats.reshape([2]).get(),
      () => rt.tile(table, ints).get(),
      () => floats.mul(1e15).fixPrecision().share(alice, carol).get(),
      () => floats.get(),
      () => rt.matMul(floats, floats).get(),
    ];
    const printed = [];
    for (const attempt of attempts) {
      try {
        printed.push('resolved: ' + String(await attempt()));
      } catch (error) {
        printed.push(String(error) + ' ' + JSON.stringify(error.where ?? {}) + ' ' + JSON.stringify(error.data ?? {}));
      }
    }
    await sim.settle();
    for (const line of printed) console.log(line);
    return { printed, observed: { oneWay: sim.remoteErrors.map((e) => e.message), listing: String(await bob.listObjects()) } };
  },
  checks: {
    'every error is reported': (result) => 'the errors were: ' + result.printed.join(' | '),
  },
});
`;

test('no element of private data reaches stdout, results.json, report.html or the event log of a run full of failures on it', async (t) => {
  const dir = tempDir(t);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  const file = join(dir, 'error-leaks.ts');
  writeFileSync(file, scenario(ROOT));
  const out = join(dir, 'out');
  const { code, stdout, stderr } = await fedsim('run', file, '--out', out);
  t.is(code, 1, `the check fails on purpose, so its message (the errors) is in every output: ${stderr}`);
  t.regex(stdout, /the errors were: /);
  t.regex(stdout, /GetNotPermittedError/, 'the refusals are reported');
  const outputs = {
    stdout,
    stderr,
    results: readFileSync(join(out, 'results.json'), 'utf8'),
    report: readFileSync(join(out, 'report.html'), 'utf8'),
    log: readFileSync(join(out, 'run.jsonl'), 'utf8'),
  };
  for (const [name, text] of Object.entries(outputs)) {
    for (const value of SECRET) t.false(text.includes(String(value)), `${value} appears in ${name}`);
  }
});
