/**
 * `simulate()`: a scenario as a test suite over many seeds, for ava (or any runner
 * whose test context has `pass` and `fail`).
 *
 *   test('aggregation survives delays', (t) => simulate(t, scenario, { seeds: '1..200', faults: 'scenarios/faults/x.json' }));
 *
 * A failing seed fails the test with the command that reproduces it, and — when
 * faults were given — the minimal fault script that still fails.
 */
import { resolve } from 'node:path';
import type { FaultPlanInput, StrategySpec } from '../runtime/index.js';
import type { Check, Scenario } from './define-scenario.js';
import { readFaultPlanFile } from './experiment-fields.js';
import { explore, type ExploreReport, type SeedFailure } from './explore.js';
import { reproCommand } from './repro.js';
import { parseSeedRange } from './run-arguments.js';

/** The part of ava's ExecutionContext this needs. */
export interface TestContextLike {
  pass(message?: string): void;
  fail(message?: string): void;
}

export interface SimulateOptions<R> {
  /** Seeds: a list, a range text ('1..200', '1,5,9') or a count (n = 1..n). Default 1..20. */
  seeds?: readonly number[] | string | number;
  /** A fault plan, or the path of a JSON plan file (relative to the working directory). */
  faults?: FaultPlanInput | string;
  strategy?: StrategySpec;
  strict?: boolean;
  /** Invariants checked on top of the scenario's checks. */
  invariants?: Record<string, Check<R>>;
  /** Shrink the faults of the first n failing seeds (default 1; 0 = never). */
  shrink?: number;
  /** Stop after this many failing seeds (default 5). */
  maxFailures?: number;
  /** How the CLI is started in printed commands (default `npx fedsim`). */
  bin?: string;
}

export function seedList(seeds: SimulateOptions<unknown>['seeds']): number[] {
  if (seeds === undefined) return parseSeedRange('1..20');
  if (typeof seeds === 'number') return Array.from({ length: seeds }, (_, i) => i + 1);
  if (typeof seeds === 'string') return parseSeedRange(seeds, { countForm: true });
  return [...seeds];
}

export async function simulate<R>(t: TestContextLike, scenario: Scenario<R>, options: SimulateOptions<R> = {}): Promise<ExploreReport> {
  const seeds = seedList(options.seeds);
  const faults = typeof options.faults === 'string' ? readFaultPlanFile(resolve(options.faults)) : options.faults;
  const report = await explore(scenario, {
    seeds,
    faults,
    strategy: options.strategy,
    strict: options.strict,
    invariants: options.invariants,
    shrink: (faults ?? scenario.faults) ? (options.shrink ?? 1) : 0,
    maxFailures: options.maxFailures ?? 5,
  });
  if (report.failures.length === 0) {
    t.pass(`${scenario.name}: ${report.runs} seeds passed`);
    return report;
  }
  t.fail(failureMessage(scenario, report, { ...options, faults: options.faults }));
  return report;
}

export function failureMessage<R>(scenario: Scenario<R>, report: ExploreReport, options: SimulateOptions<R>): string {
  const bin = options.bin ?? 'npx fedsim';
  const lines = [`${scenario.name}: ${report.failures.length} failing seed(s) in ${report.runs} run(s)${report.truncated ? ' (stopped early)' : ''}.`];
  if (!scenario.path) lines.push('(The scenario file is unknown: pass `path: import.meta.url` to defineScenario so failures can print a command.)');
  const scenarioFile = scenario.path ?? `<${scenario.name} scenario file>`;
  for (const failure of report.failures) lines.push(...describeFailure(failure, scenarioFile, options, bin));
  return lines.join('\n');
}

function describeFailure<R>(failure: SeedFailure, scenarioFile: string, options: SimulateOptions<R>, bin: string): string[] {
  const repro = (faults: string | FaultPlanInput | undefined) =>
    reproCommand({ bin, scenario: scenarioFile, seed: failure.seed, faults, strategy: options.strategy, strict: options.strict });
  const lines = [`seed ${failure.seed}:`];
  for (const f of failure.failures) lines.push(`  ✗ ${f.name}: ${f.message.split('\n')[0]}`);
  lines.push(`  reproduce: ${repro(options.faults)}`);
  const shrunk = failure.shrunk;
  if (shrunk?.reproduced) {
    lines.push(`  minimal faults (${shrunk.injected} injected → ${shrunk.faults}): ${repro(shrunk.faults ? shrunk.plan : undefined)}`);
  } else if (shrunk?.note) {
    lines.push(`  (not shrunk: ${shrunk.note})`);
  }
  return lines;
}
