/**
 * The built-in experiment kind `module`: a YAML/JSON file that runs a scenario module
 * with its own seed, faults, strategy and parameters — experiments as data over
 * scenarios written in code.
 *
 *   kind: module
 *   module: ./ping-pong.ts
 *   seed: 7
 *   faults: ./faults/flaky.json
 *   params: { rounds: 3 }
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { withOverrides } from './define-scenario.js';
import { experimentFields, resolveFaultsField } from './experiment-fields.js';
import { registerExperimentKind } from './experiment-kinds.js';
import { loadScenario } from './load-scenario.js';

const ModuleExperimentSchema = z.object({ module: z.string().min(1), ...experimentFields }).strict();

export function registerModuleExperimentKind(): void {
  registerExperimentKind('module', moduleExperimentKind);
}

const moduleExperimentKind = {
  description: 'runs a scenario module (module: ./x.ts) with the seed, faults, strategy and params given in the file',
  schema: ModuleExperimentSchema,
  readsParams: true,
  async toScenario(config: z.infer<typeof ModuleExperimentSchema>, source: { dir: string }) {
    const scenario = await loadScenario(resolve(source.dir, config.module));
    return withOverrides(scenario, {
      name: config.name,
      description: config.description,
      seed: config.seed,
      faults: resolveFaultsField(config.faults, source.dir),
      strategy: config.strategy,
      params: config.params ? { ...(scenario.params ?? {}), ...config.params } : undefined,
    });
  },
};
