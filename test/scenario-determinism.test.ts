import test from 'ava';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createSimulation, loadScenario, readFaultPlanFile, runScenario, type Scenario } from '../src/scenario/index.js';

// Files starting with `_` are scratch work, not scenarios.
const scenarioFiles = readdirSync('scenarios')
  .filter((f) => /\.(ts|ya?ml)$/.test(f) && !f.startsWith('_'))
  .map((f) => `scenarios/${f}`);

// Scenario modules that default-export a bare function drive workers (sim.worker, pointers): they need the full
// Simulation, which src/scenario/simulation-factory.ts builds once the worker layer is merged.
const workersAvailable = typeof (createSimulation({}) as unknown as { worker?: unknown }).worker === 'function';
const needsWorkers = async (file: string) =>
  file.endsWith('.ts') && typeof (await import(pathToFileURL(resolve(file)).href)).default === 'function';
// Worked out before any test is declared: ava wants every declaration in one synchronous pass.
const pending = workersAvailable ? [] : (await Promise.all(scenarioFiles.map(async (f) => ((await needsWorkers(f)) ? f : null)))).filter(Boolean);

async function eventLines(scenario: Scenario<any>, seed: number, faults?: object): Promise<string[]> {
  const outcome = await runScenario(scenario, { seed, faults });
  return outcome.sim.log.eventLines();
}

for (const file of scenarioFiles) {
  if (pending.includes(file)) {
    test.todo(`${file}: determinism (needs the full Simulation in src/scenario/simulation-factory.ts)`);
    continue;
  }
  test(`${file}: the same seed gives the identical event log`, async (t) => {
    const scenario = await loadScenario(file);
    for (const seed of [1, 17]) {
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
