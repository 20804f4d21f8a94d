/**
 * Commands that reproduce a run: what failures print so a person can paste them.
 */
import type { FaultPlanInput, Seed, StrategySpec } from '../runtime/index.js';
import { formatStrategy } from './run-arguments.js';
import { displayPath, shellQuote } from './scenario-path.js';

export interface ReproSpec {
  /** The scenario file (absolute or relative). */
  scenario: string;
  seed: Seed;
  /** A fault plan file path, or an inline plan (printed as JSON). */
  faults?: string | FaultPlanInput;
  strategy?: StrategySpec;
  strict?: boolean;
  /** Limits raised with --limit (name → value), so the command loads the file as the run did. */
  limits?: Record<string, number>;
  /** Step budget given with --max-steps, so the command runs under the same budget. */
  maxSteps?: number;
  /** The command that starts the CLI (default `fedsim`; `npx fedsim` in test messages). */
  bin?: string;
}

export function reproCommand(spec: ReproSpec): string {
  const words = [spec.bin ?? 'fedsim', 'run', shellQuote(displayPath(spec.scenario)), '--seed', shellQuote(String(spec.seed))];
  if (spec.faults !== undefined) {
    const inline = typeof spec.faults !== 'string' || spec.faults.trim().startsWith('{');
    const faults = typeof spec.faults !== 'string' ? JSON.stringify(spec.faults) : inline ? spec.faults : displayPath(spec.faults);
    words.push('--faults', shellQuote(faults));
  }
  if (spec.strategy !== undefined && spec.strategy !== 'fifo-random') words.push('--strategy', shellQuote(formatStrategy(spec.strategy)));
  if (spec.strict) words.push('--strict');
  for (const [name, value] of Object.entries(spec.limits ?? {})) words.push('--limit', `${name}=${value}`);
  if (spec.maxSteps !== undefined) words.push('--max-steps', String(spec.maxSteps));
  return words.join(' ');
}
