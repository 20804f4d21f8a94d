/**
 * How many steps the bundled scenarios and experiments need in one await or settle —
 * what the CLI's default step budget (--max-steps, CLI_MAX_STEPS) must leave ample room
 * for, while still stopping a message loop after seconds, not minutes.
 *
 * Every scenario file in scenarios/ and scenarios/experiments/ runs once under the
 * runtime's own budget (50 million); the table gives the most steps one await or settle
 * took (SimulationCore.longestStretch), the events and the wall time. The Fashion-MNIST
 * experiments need a dataset this machine may not have: their message flow (clients,
 * rounds, fraction, aggregation) does not depend on the data or the model, so without
 * the dataset they run on synthetic data with 100 devices and a logistic model, 1 local
 * epoch — the same steps, a fraction of the time (marked "synthetic stand-in").
 *
 *   npm run bench -- steps
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/runtime/backend.js';
import { DEFAULT_MAX_STEPS } from '../src/runtime/index.js';
import { loadScenario, runScenario } from '../src/scenario/index.js';
import { CLI_MAX_STEPS } from '../src/cli/run-options.js';
import '../src/cli/experiment-kinds.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FASHION = '/usr/share/datasets/fashion-mnist';

function scenarioFiles(): string[] {
  const dirs = ['scenarios', join('scenarios', 'experiments')];
  return dirs.flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .filter((f) => /\.(ts|ya?ml|json)$/.test(f))
      .sort()
      .map((f) => join(dir, f)),
  );
}

/** Parameters that swap a missing Fashion-MNIST dataset for synthetic data with the same clients. */
function standIn(file: string): Record<string, unknown> | undefined {
  if (!/fashion/.test(file) || existsSync(FASHION)) return undefined;
  return {
    data: { source: 'synthetic', alpha: 1, beta: 1, devices: 100 },
    model: { kind: 'logistic', inputs: 60, classes: 10 },
    localEpochs: 1,
  };
}

export const benchmark = {
  name: 'steps',
  title: 'Step budget: the most steps one await or settle takes in the bundled scenarios',
  async run(): Promise<string> {
    await initBackend();
    const rows: string[] = [];
    let most = 0;
    for (const file of scenarioFiles()) {
      const params = standIn(file);
      const scenario = await loadScenario(join(ROOT, file), { params });
      const started = performance.now();
      const outcome = await runScenario(scenario, { params, maxSteps: DEFAULT_MAX_STEPS, keepLog: false });
      const wall = (performance.now() - started) / 1000;
      const longest = outcome.sim.longestStretch;
      most = Math.max(most, longest);
      const note = params ? ' (synthetic stand-in)' : outcome.ok ? '' : ' (its checks fail: a planted bug)';
      rows.push(`| ${file}${note} | ${longest.toLocaleString('en-US')} | ${outcome.sim.eventCount.toLocaleString('en-US')} | ${wall.toFixed(1)} |`);
    }
    return [
      '| scenario | most steps in one await or settle | events | wall s |',
      '|---|---:|---:|---:|',
      ...rows,
      '',
      `Most: ${most.toLocaleString('en-US')} steps; the CLI's default budget is ${CLI_MAX_STEPS.toLocaleString('en-US')} ` +
        `(${(CLI_MAX_STEPS / Math.max(1, most)).toFixed(0)}× that).`,
    ].join('\n');
  },
};
