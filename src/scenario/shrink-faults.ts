/**
 * Shrinking a failing run's faults to a minimal scripted plan that still fails.
 *
 * 1. Read the faults the failing run suffered from its log, as a script (plus the
 *    plan's crashes and partitions).
 * 2. Check that this script alone — no random rates — still fails. It normally
 *    replays the run exactly: the fault stream is the only randomness it replaces.
 * 3. Delta-debug the items down to a 1-minimal failing subset, then drop the
 *    effects of multi-effect faults that the failure does not need.
 * "Still fails" means: at least one of the originally failing checks fails again.
 */
import type { FaultPlanInput, Seed, StrategySpec } from '../runtime/index.js';
import { parseFaultPlan } from '../runtime/index.js';
import type { CheckResult } from './checks.js';
import { ddmin } from './ddmin.js';
import type { Check, Scenario } from './define-scenario.js';
import { type FaultItem, faultItems, injectedScript, planOf, simplerFaults } from './injected-faults.js';
import { runScenario, type ScenarioOutcome } from './run-scenario.js';

export interface ShrinkOptions<R> {
  seed: Seed;
  strategy?: StrategySpec;
  strict?: boolean;
  /** Step budget of one await or settle, as the failing run had it. */
  maxSteps?: number;
  invariants?: Record<string, Check<R>>;
  maxTests?: number;
}

export interface ShrinkResult {
  /** True when `plan` was checked to fail; false when even the full script did not reproduce the failure. */
  reproduced: boolean;
  /** The minimal failing plan (scripted faults, crashes, partitions); {} when the failure needs no fault. */
  plan: FaultPlanInput;
  /** Faults the original failing run suffered (script entries + crashes + partitions). */
  injected: number;
  /** Faults left in `plan`. */
  faults: number;
  /** Simulation runs spent shrinking. */
  tests: number;
  /** The failures the shrunk plan produces. */
  failures: CheckResult[];
  note?: string;
}

export function injectedItems(outcome: ScenarioOutcome<unknown>, faults: FaultPlanInput | undefined): FaultItem[] {
  return faultItems(injectedScript(outcome.sim.log.events), parseFaultPlan(faults));
}

export async function shrinkFaults<R>(scenario: Scenario<R>, failing: ScenarioOutcome<R>, options: ShrinkOptions<R>): Promise<ShrinkResult> {
  const wanted = new Set(failing.failures.map((f) => f.name));
  // The plan the failing run used (its crashes and partitions are shrinkable items too).
  const items = injectedItems(failing as ScenarioOutcome<unknown>, failing.faults);
  let tests = 0;
  let lastFailures: CheckResult[] = failing.failures;
  const fails = async (subset: FaultItem[]): Promise<boolean> => {
    tests++;
    const outcome = await runScenario(scenario, {
      seed: options.seed,
      strategy: options.strategy,
      strict: options.strict,
      maxSteps: options.maxSteps,
      invariants: options.invariants,
      faults: planOf(subset),
    });
    const reproduced = outcome.failures.some((f) => wanted.has(f.name));
    if (reproduced) lastFailures = outcome.failures;
    return reproduced;
  };

  const base = { injected: items.length, failures: failing.failures };
  if (!(await fails(items))) {
    return {
      ...base,
      reproduced: false,
      plan: failing.faults ?? {},
      faults: items.length,
      tests,
      note: 'the faults the run suffered, replayed as a script, did not reproduce the failure; keep the original plan',
    };
  }
  if (items.length === 0 || (await fails([]))) {
    return { ...base, reproduced: true, plan: {}, faults: 0, tests, failures: lastFailures, note: 'the failure needs no fault at all' };
  }
  const minimal = await ddmin(items, fails, { maxTests: options.maxTests });
  const simplified = await simplify(minimal.items, fails);
  // Re-run the final plan so the failures reported are those of the plan printed.
  await fails(simplified);
  return { ...base, reproduced: true, plan: planOf(simplified), faults: simplified.length, tests, failures: lastFailures };
}

/** Removes the effects of scripted faults that the failure does not need (e.g. a reorder riding on a delay). */
async function simplify(items: FaultItem[], fails: (subset: FaultItem[]) => Promise<boolean>): Promise<FaultItem[]> {
  const current = [...items];
  for (let i = 0; i < current.length; i++) {
    const item = current[i];
    if (item.kind !== 'script') continue;
    for (const simpler of simplerFaults(item.fault)) {
      const candidate = [...current];
      candidate[i] = { kind: 'script', fault: simpler };
      if (await fails(candidate)) {
        current[i] = candidate[i];
        i--; // try to simplify the same fault further
        break;
      }
    }
  }
  return current;
}
