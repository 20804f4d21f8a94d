/**
 * Exploring seeds: run a scenario under many seeds (and a fault plan), collect the
 * seeds whose checks fail, and shrink each failure's faults to a minimal script.
 */
import type { FaultPlanInput, Seed, StrategySpec } from '../runtime/index.js';
import type { CheckResult } from './checks.js';
import type { Check, Scenario } from './define-scenario.js';
import { runScenario, type RunScenarioOptions, type ScenarioOutcome } from './run-scenario.js';
import { injectedItems, type ShrinkResult, shrinkFaults } from './shrink-faults.js';

export interface ExploreOptions<R> {
  seeds: readonly Seed[];
  faults?: FaultPlanInput;
  strategy?: StrategySpec;
  strict?: boolean;
  /** Step budget of one await or settle (default: the scenario's, else the runtime's). */
  maxSteps?: number;
  invariants?: Record<string, Check<R>>;
  /** Shrink the faults of at most this many failing seeds (default 3; 0 = none). */
  shrink?: number;
  /** Stop after this many failing seeds (default: explore every seed). */
  maxFailures?: number;
  /** Called after every seed's run (for progress displays). */
  onRun?: (progress: { seed: Seed; index: number; total: number; outcome: ScenarioOutcome<R> }) => void;
  /** Called with each failing seed, once it is shrunk (when it is): failures as they come, before the exploration ends. */
  onFailure?: (failure: SeedFailure, runs: number) => void;
  /** Called when shrinking a failing seed starts and ends. */
  onShrink?: (seed: Seed, result?: ShrinkResult) => void;
  /** How the steps of each seed's run go (runScenario's runSteps; the CLI makes them stop on Ctrl-C). Shrinking runs do not use it. */
  runSteps?: RunScenarioOptions<R>['runSteps'];
  /** A seed's outcome that ends the exploration (an interrupted run): that seed is not counted, and the report says so. */
  stopsExploring?: (outcome: ScenarioOutcome<R>) => boolean;
}

export interface SeedFailure {
  seed: Seed;
  failures: CheckResult[];
  /** Faults the failing run suffered (messages faulted + crashes + partitions in the plan). */
  injected: number;
  shrunk?: ShrinkResult;
}

export interface ExploreReport {
  scenario: string;
  runs: number;
  failures: SeedFailure[];
  /** True when exploring stopped at maxFailures before the last seed. */
  truncated: boolean;
  /** True when a seed's outcome stopped the exploration (stopsExploring). */
  interrupted?: boolean;
}

export async function explore<R>(scenario: Scenario<R>, options: ExploreOptions<R>): Promise<ExploreReport> {
  const shrinkBudget = options.shrink ?? 3;
  const failures: SeedFailure[] = [];
  let runs = 0;
  for (const [index, seed] of options.seeds.entries()) {
    const run = { seed, strategy: options.strategy, strict: options.strict, maxSteps: options.maxSteps, invariants: options.invariants };
    const outcome = await runScenario(scenario, { ...run, faults: options.faults, runSteps: options.runSteps });
    if (options.stopsExploring?.(outcome)) return { scenario: scenario.name, runs, failures, truncated: true, interrupted: true };
    runs++;
    options.onRun?.({ seed, index, total: options.seeds.length, outcome });
    if (outcome.ok) continue;
    const failure: SeedFailure = { seed, failures: outcome.failures, injected: 0 };
    if (failures.filter((f) => f.shrunk).length < shrinkBudget) {
      options.onShrink?.(seed);
      failure.shrunk = await shrinkFaults(scenario, outcome, run);
      failure.injected = failure.shrunk.injected;
      options.onShrink?.(seed, failure.shrunk);
    } else {
      failure.injected = injectedItems(outcome as ScenarioOutcome<unknown>, outcome.faults).length;
    }
    failures.push(failure);
    options.onFailure?.(failure, runs);
    if (options.maxFailures !== undefined && failures.length >= options.maxFailures) {
      return { scenario: scenario.name, runs, failures, truncated: index < options.seeds.length - 1 };
    }
  }
  return { scenario: scenario.name, runs, failures, truncated: false };
}
