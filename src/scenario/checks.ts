/**
 * Evaluating invariants: each check's verdict becomes { name, ok, message }.
 */
import type { Check, CheckOutcome } from './define-scenario.js';
import type { Sim } from './simulation-factory.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** Why it failed ('' when it held). */
  message: string;
}

export function verdict(name: string, outcome: CheckOutcome): CheckResult {
  if (outcome === undefined || outcome === true) return { name, ok: true, message: '' };
  if (outcome === false) return { name, ok: false, message: 'the check returned false' };
  if (typeof outcome === 'string') return { name, ok: false, message: outcome || 'the check failed (empty message)' };
  return { name, ok: false, message: `the check returned ${JSON.stringify(outcome)}; return true/undefined when it holds, or a message (string) or false when it does not` };
}

/** Runs checks in their declaration order; one that throws fails with the error's message. */
export async function evaluateChecks<R>(checks: Record<string, Check<R>>, result: R, sim: Sim): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [name, check] of Object.entries(checks)) {
    try {
      results.push(verdict(name, await check(result, sim)));
    } catch (error) {
      const message = error instanceof Error ? `threw ${error.name}: ${error.message}` : `threw ${String(error)}`;
      results.push({ name, ok: false, message });
    }
  }
  return results;
}
