/**
 * What `fedsim run` says about a differentially private run: ε after each round and the
 * privacy statement on stdout, the budget stop (a passed run, with its reason), results.json's
 * perRound[].epsilon and `privacy`, a `dp` mark per round in the event log, and report.html's
 * privacy chart beside accuracy.
 */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrivacyAccountant } from '../src/dp/accounting/accountant.js';
import { fedsim, tempDir } from './helpers/fedsim-cli.js';
import { TINY_FEDAVG_FIELDS, yamlLines } from './helpers/tiny-experiment.js';

test('a DP run with a budget: ε per round on stdout, results.json and the log; it stops, complete, before the round that would exceed the budget', async (t) => {
  const dir = tempDir(t);
  const spent = (n: number) => new PrivacyAccountant().compose({ kind: 'poisson-sampled-gaussian', samplingRate: 0.5, noiseMultiplier: 1.2 }, n).epsilon(1e-3).epsilon;
  // Four rounds fit, the fifth would not.
  const budget = Number(((spent(4) + spent(5)) / 2).toFixed(4));
  const file = join(dir, 'dp.yaml');
  writeFileSync(
    file,
    yamlLines({
      ...TINY_FEDAVG_FIELDS,
      name: 'dp-tiny',
      rounds: '10',
      fraction: '0.5',
      clientEvaluation: 'none',
      dp: `{ clip: 0.5, noiseMultiplier: 1.2, delta: 1e-3, budget: { epsilon: ${budget} } }`,
      expect: '{ maxSkippedRounds: 10 }',
    }),
  );
  const out = join(dir, 'out');
  const { code, stdout, stderr } = await fedsim('run', file, '--out', out, '--quiet');
  t.is(code, 0, stderr);
  for (let r = 1; r <= 4; r++) t.true(stdout.includes(`  round ${r}  ε = ${Number(spent(r).toPrecision(4))}\n`), `round ${r}:\n${stdout}`);
  t.false(stdout.includes('  round 5  ε'));
  t.regex(stdout, new RegExp(`privacy: ε = ${Number(spent(4).toPrecision(4))} at δ = 0\\.001 \\(rdp, order [\\d.]+\\), 4 rounds, mode central, z = 1\\.2, C = 0\\.5, poisson sampling q = 0\\.5; released models, add or remove one client`));
  t.regex(stdout, /stopped: privacy budget: round 5 would take ε to [\d.]+, above dp\.budget\.epsilon/);

  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  t.true(results.ok);
  t.is(results.result.rounds, 4);
  t.regex(results.result.stopReason, /^privacy budget: round 5/);
  t.deepEqual(
    results.result.perRound.map((r: { epsilon: number }) => r.epsilon),
    [1, 2, 3, 4].map(spent),
  );
  t.like(results.result.privacy, { epsilon: spent(4), delta: 1e-3, accountant: 'rdp', mode: 'central', sampling: 'poisson', samplingRate: 0.5, noiseMultiplier: 1.2, clip: 0.5, rounds: 4, budget });
  t.regex(results.result.privacy.notCovered, /clientEvaluation/);
  const metrics = results.result.metrics.map((m: { name: string; chart: string }) => `${m.name} / ${m.chart}`);
  t.deepEqual(metrics.slice(0, 2), ['test accuracy / accuracy', 'ε (δ = 0.001) / privacy']);

  const marks = readFileSync(join(out, 'run.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.includes('"ev":"mark"') && line.includes('"label":"dp"'))
    .map((line) => JSON.parse(line).data);
  t.deepEqual(
    marks.map((m: { round: number; epsilon: number; actor: string }) => [m.actor, m.round, m.epsilon]),
    [1, 2, 3, 4].map((r) => ['server', r, spent(r)]),
  );
  const report = readFileSync(join(out, 'report.html'), 'utf8');
  t.true(report.indexOf('aria-label="accuracy"') < report.indexOf('aria-label="privacy"'), 'the privacy chart follows the accuracy chart');
});
