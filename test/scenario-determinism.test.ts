import test from 'ava';
import { readdirSync } from 'node:fs';
import { loadScenario, readFaultPlanFile, runScenario, type Scenario } from '../src/scenario/index.js';
import '../src/fl/experiments/register.js'; // kind: fedavg (scenarios/default.yaml)
import { initBackend } from '../src/runtime/backend.js';

await initBackend(); // the backend `fedsim run` uses

// Files starting with `_` are scratch work, not scenarios.
const scenarioFiles = readdirSync('scenarios')
  .filter((f) => /\.(ts|ya?ml)$/.test(f) && !f.startsWith('_'))
  .map((f) => `scenarios/${f}`);

async function eventLines(scenario: Scenario<any>, seed: number, faults?: object): Promise<string[]> {
  const outcome = await runScenario(scenario, { seed, faults });
  return outcome.sim.log.eventLines();
}

// An experiment file runs its first few rounds here: determinism shows in them as it would in all of them, and the
// suite stays short (each file runs twice). `fedsim run` runs them whole.
const QUICK = { params: { rounds: 4 } };

for (const file of scenarioFiles) {
  test(`${file}: the same seed gives the identical event log`, async (t) => {
    const scenario = await loadScenario(file, /\.ya?ml$/.test(file) ? QUICK : {});
    for (const seed of [1]) {
      const [a, b] = [await eventLines(scenario, seed), await eventLines(scenario, seed)];
      t.true(a.length > 0);
      t.deepEqual(a, b, `seed ${seed}`);
    }
  });
}

test('identical under a fault plan too, and another seed gives another interleaving', async (t) => {
  const stale = await loadScenario('scenarios/stale-update-bug.ts');
  const faults = readFaultPlanFile('scenarios/faults/stale-update.json');
  t.deepEqual(await eventLines(stale, 5, faults), await eventLines(stale, 5, faults));
  const pingPong = await loadScenario('scenarios/ping-pong.ts');
  t.notDeepEqual(await eventLines(pingPong, 1), await eventLines(pingPong, 2));
});
