/**
 * Runs one experiment file of scenarios/experiments/ to its result, timed (wall clock is
 * read only in benchmarks), for the benchmarks that tabulate whole runs.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { FedAvgExperimentResult } from '../src/fl/experiments/fedavg-experiment.js';
import { loadScenario, runScenario } from '../src/scenario/index.js';
import '../src/cli/experiment-kinds.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The result of `scenarios/experiments/<file>` and its wall time; a failed run throws, naming the file and how to see why. */
export async function runExperimentFile(file: string, bench: string): Promise<{ result: FedAvgExperimentResult; seconds: number }> {
  const scenario = await loadScenario(join(ROOT, 'scenarios', 'experiments', file));
  const started = performance.now();
  const outcome = await runScenario(scenario, { keepLog: false });
  const seconds = (performance.now() - started) / 1000;
  const result = outcome.result as FedAvgExperimentResult | undefined;
  if (!outcome.ok || !result) {
    const why = outcome.failures.map((f) => `${f.name}: ${f.message}`).join('; ');
    throw new Error(`${bench}: ${file} failed (${why}); run \`fedsim run scenarios/experiments/${file}\` to see the whole run`);
  }
  return { result, seconds };
}
