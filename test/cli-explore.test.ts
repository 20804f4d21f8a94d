import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import staleUpdate from '../scenarios/stale-update-bug.js';
import { readFaultPlanFile, runScenario } from '../src/scenario/index.js';
import { fedsim, tempDir } from './helpers/fedsim-cli.js';

const PLAN = 'scenarios/faults/stale-update.json';

/** Faults the run actually suffered, counted straight from its log: one per faulted message. */
async function injectedFaults(seed: number): Promise<number> {
  const outcome = await runScenario(staleUpdate, { seed, faults: readFaultPlanFile(PLAN) });
  t_assert(!outcome.ok, `seed ${seed} should fail under the plan`);
  const faulted = new Set<string>();
  for (const e of outcome.sim.log.events) {
    if (e.ev === 'delayed' || e.ev === 'reordered' || e.ev === 'duplicated' || (e.ev === 'dropped' && e.reason === 'fault')) faulted.add(e.msg);
  }
  return faulted.size;
}
function t_assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

test('explore finds the planted stale-update bug and shrinks its fault plan to a plan that still fails', async (t) => {
  const out = tempDir(t);
  const { code, stdout } = await fedsim('explore', 'scenarios/stale-update-bug.ts', '--seeds', '1..10', '--faults', PLAN, '--out', out, '--shrink', '1', '-q');
  t.is(code, 1, 'failing seeds make explore exit 1');
  t.regex(stdout, /✗ seed \d+: every aggregated update belongs to the current round/);
  t.regex(stdout, /fedsim run scenarios\/stale-update-bug\.ts --seed \d+ --faults scenarios\/faults\/stale-update\.json/);

  const summary = JSON.parse(readFileSync(join(out, 'explore.json'), 'utf8'));
  const shrunk = summary.failures.find((f: { shrunkFile?: string }) => f.shrunkFile);
  t.truthy(shrunk, 'the first failing seed was shrunk');
  t.true(stdout.includes(`reproduce it:    npx fedsim run scenarios/stale-update-bug.ts --seed ${shrunk.seed} --faults ${shrunk.shrunkFile}`), stdout);
  const plan = JSON.parse(readFileSync(shrunk.shrunkFile, 'utf8'));
  t.deepEqual(Object.keys(plan), ['script'], 'only scripted faults, no random rates');

  // No longer than half of what the original failing run suffered.
  const injected = await injectedFaults(shrunk.seed);
  t.is(shrunk.injected, injected);
  t.true(plan.script.length <= injected / 2, `${plan.script.length} scripted faults vs ${injected} injected`);

  // The shrunk plan still fails, the same way.
  const rerun = await fedsim('run', 'scenarios/stale-update-bug.ts', '--seed', String(shrunk.seed), '--faults', shrunk.shrunkFile, '--out', join(out, 'rerun'), '-q');
  t.is(rerun.code, 1);
  t.regex(rerun.stdout, /✗ every aggregated update belongs to the current round/);
});

test('explore exits 0 when every seed passes', async (t) => {
  const out = tempDir(t);
  const { code, stdout } = await fedsim('explore', 'scenarios/stale-update-bug.ts', '--seeds', '1..20', '--out', out, '-q');
  t.is(code, 0, stdout);
  t.regex(stdout, /20 seeds, every check held/);
});
