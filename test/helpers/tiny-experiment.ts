import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScenarioLoadError, loadScenario } from '../../src/scenario/index.js';

/**
 * The top-level fields of a tiny `kind: fedavg` experiment file (4 devices, 6 features,
 * 3 classes, one round), as YAML flow text per field: preflight tests replace or add
 * fields and write the file.
 */
export const TINY_FEDAVG_FIELDS: Readonly<Record<string, string>> = {
  kind: 'fedavg',
  data: '{ source: synthetic, alpha: 1, beta: 1, devices: 4, features: 6, classes: 3, maxSamplesPerDevice: 10 }',
  model: '{ kind: logistic, inputs: 6, classes: 3 }',
  rounds: '1',
  localEpochs: '1',
  batchSize: '5',
  lr: '0.1',
};

/**
 * The body of a small `kind: fedavg` experiment for CLI tests (6 devices, a 6-5-3 mlp): the
 * tests add `kind`, `name`, `rounds` and what they exercise.
 */
export const SMALL_MLP_EXPERIMENT = `seed: 4
data: { source: synthetic, alpha: 1, beta: 1, devices: 6, features: 6, classes: 3, maxSamplesPerDevice: 10 }
model: { kind: mlp, layers: [6, 5, 3] }
batchSize: 5
localEpochs: 1
lr: 0.1
`;

/** A whole small mlp experiment file (4 devices unless told), for CLI tests that need a run to work on. */
export const smallMlpExperimentFile = (options: { name: string; seed: number; rounds: number; devices?: number }) => `kind: fedavg
name: ${options.name}
seed: ${options.seed}
data: { source: synthetic, alpha: 1, beta: 1, devices: ${options.devices ?? 4}, features: 6, classes: 3, maxSamplesPerDevice: 10 }
model: { kind: mlp, layers: [6, 5, 3] }
batchSize: 5
rounds: ${options.rounds}
localEpochs: 1
lr: 0.1
`;

/** The YAML text of `fields`, one `key: value` line each. */
export const yamlLines = (fields: Record<string, string>) => Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n';

/**
 * The load problems of the tiny experiment file plus `extra` lines ([] when it loads), written
 * in a temporary folder that is removed again.
 */
export async function tinyExperimentProblems(extra: string): Promise<readonly string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-tiny-experiment-'));
  try {
    const path = join(dir, 'experiment.yaml');
    writeFileSync(path, yamlLines(TINY_FEDAVG_FIELDS) + extra);
    await loadScenario(path);
    return [];
  } catch (error) {
    if (error instanceof ScenarioLoadError) return error.problems;
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
