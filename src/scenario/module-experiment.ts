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
 *
 * The module is code that replay will import again, so it is held to replay's rules for
 * the scenario file (recorded-scenario.ts): it must lie inside the experiment file's
 * project (its real path, symlinks resolved), and its path and sha256 go into the log
 * header (Scenario.modules) for replay to check before importing it. A file that names
 * itself, or names a file that names it back, is a cycle, refused in one line.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { withOverrides } from './define-scenario.js';
import { experimentFields, resolveFaultsField } from './experiment-fields.js';
import { registerExperimentKind } from './experiment-kinds.js';
import { ScenarioLoadError, loadScenario } from './load-scenario.js';
import { currentLoadingChain } from './loading-chain.js';
import { displayPath, projectRoot } from './scenario-path.js';

const ModuleExperimentSchema = z.object({ module: z.string().min(1), ...experimentFields }).strict();

export function registerModuleExperimentKind(): void {
  registerExperimentKind('module', moduleExperimentKind);
}

const moduleExperimentKind = {
  description: 'runs a scenario module (module: ./x.ts) with the seed, faults, strategy and params given in the file',
  schema: ModuleExperimentSchema,
  readsParams: true,
  async toScenario(config: z.infer<typeof ModuleExperimentSchema>, source: { path: string; dir: string }) {
    const modulePath = resolve(source.dir, config.module);
    refuseCycle(modulePath, config.module, source.path);
    refuseOutsideProject(modulePath, config.module, source.path);
    const scenario = await loadScenario(modulePath);
    const modules = scenario.path && scenario.sha256 ? [{ path: scenario.path, sha256: scenario.sha256 }, ...(scenario.modules ?? [])] : scenario.modules;
    return withOverrides(scenario, {
      name: config.name,
      description: config.description,
      seed: config.seed,
      faults: resolveFaultsField(config.faults, source.dir),
      strategy: config.strategy,
      params: config.params ? { ...(scenario.params ?? {}), ...config.params } : undefined,
      modules,
    });
  },
};

/** `a.yaml: module: ./b.yaml refers back to a.yaml (a cycle: a.yaml → b.yaml → a.yaml)`. */
function refuseCycle(modulePath: string, written: string, file: string): void {
  if (!existsSync(modulePath)) return; // loadScenario says it is missing
  const chain = currentLoadingChain().chain;
  const target = realpathSync(modulePath);
  const at = chain.indexOf(target);
  if (at === -1) return;
  const shown = displayPath(file);
  const loop = [...chain.slice(at), target].map((p) => displayPath(p));
  const path = loop.length > 2 ? `: ${loop.join(' → ')}` : '';
  throw new ScenarioLoadError(`${shown}: module: ${written} refers back to ${displayPath(target)} (a cycle${path}); a module file must name a scenario module, not a file that leads back here.`, shown);
}

/** The module's real path must be inside the experiment file's project (its directory when it is in none). */
function refuseOutsideProject(modulePath: string, written: string, file: string): void {
  if (!existsSync(modulePath)) return;
  const root = realpathSync(projectRoot(file) ?? dirname(file));
  const real = realpathSync(modulePath);
  const rel = relative(root, real);
  if (rel !== '' && rel.split(sep)[0] !== '..' && !isAbsolute(rel)) return;
  const shown = displayPath(file);
  const via = real === modulePath ? '' : ` (through a symbolic link, ${displayPath(real)})`;
  throw new ScenarioLoadError(
    `${shown}: module: ${written} is outside the project ${displayPath(root)}${via}; a replay imports only code inside the project, ` +
      'so a run may not use code from elsewhere. Copy the module into the project.',
    shown,
  );
}
