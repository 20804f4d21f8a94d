/**
 * Option values shared by several commands: seeds, strategies, fault plans, the
 * output directory, backends — each parsed into what the scenario layer takes,
 * with errors that say which flag was wrong and how to write it.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { FaultPlanError, type FaultPlanInput, parseFaultPlan } from '../runtime/index.js';
import {
  ArgumentError,
  FaultFileError,
  faultPlanProblems,
  LimitError,
  loadScenario,
  parseLimitArgument,
  planPath,
  parseSeed,
  parseSeedRange,
  parseStrategy,
  readFaultPlanFile,
  type Scenario,
  ScenarioLoadError,
} from '../scenario/index.js';
import { CliError } from './cli-error.js';

/** Wraps a parser so commander reports its error as a bad option value. */
export function optionParser<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
    }
  };
}

export const seedOption = optionParser(parseSeed);
export const seedRangeOption = optionParser((text) => parseSeedRange(text));
export const strategyOption = optionParser(parseStrategy);
export const limitOption = (text: string, previous?: Record<string, number>) => optionParser((t) => parseLimitArgument(t, previous))(text);

export interface FaultsArgument {
  plan: FaultPlanInput;
  /** The file as given, or undefined for inline JSON. */
  file?: string;
  /** What to put in a printed command: the file, or the inline JSON. */
  text: string;
}

/** `--faults plan.json` (at most `maxBytes`, limit fileBytes) or inline `--faults '{"drop":0.1}'`. */
export function loadFaultsArgument(value: string | undefined, maxBytes?: number): FaultsArgument | undefined {
  if (value === undefined) return undefined;
  try {
    if (value.trim().startsWith('{')) {
      let json: unknown;
      try {
        json = JSON.parse(value);
      } catch (error) {
        throw new CliError(`--faults: the inline plan is not valid JSON (${(error as Error).message}).`);
      }
      parseFaultPlan(json, '--faults (inline)');
      return { plan: json as FaultPlanInput, text: value };
    }
    return { plan: readFaultPlanFile(resolve(value), maxBytes), file: value, text: value };
  } catch (error) {
    if (error instanceof FaultPlanError || error instanceof FaultFileError) throw new CliError(error.message);
    throw error;
  }
}

export async function loadScenarioArgument(path: string, limits?: Record<string, number>): Promise<Scenario<any>> {
  try {
    return await loadScenario(path, { limits });
  } catch (error) {
    if (error instanceof ScenarioLoadError || error instanceof ArgumentError || error instanceof LimitError) throw new CliError(error.message);
    throw error;
  }
}

/** A --faults plan must name only actors the scenario has, when it knows them before the run. */
export function checkFaultActors(scenario: Scenario<any>, faults: FaultsArgument): void {
  if (!scenario.actors) return;
  const problems = faultPlanProblems(faults.plan, scenario.actors);
  if (problems.length === 0) return;
  const source = faults.file ? `--faults ${faults.file}` : '--faults (inline)';
  throw new CliError(
    `${source} names actors that '${scenario.name}' does not have:\n` +
      problems.map((p) => `  - at ${planPath(p.path)}: expected ${p.expected}, found '${p.found}'`).join('\n'),
  );
}

/**
 * Starts the tfjs backend before any scenario code runs: the one asked for, or (when
 * `name` is undefined) the automatic choice tensorflow → wasm → cpu (FEDSIM_BACKEND
 * overrides). Without this, tfjs would quietly fall back to its slow `cpu` backend.
 * A log header names the backend as "wasm 4.22.0"; only the first word is the name.
 */
export async function startBackend(name: string | undefined): Promise<string> {
  const { initBackend, BACKEND_NAMES } = await import('../runtime/backend.js');
  const wanted = name?.split(' ')[0];
  if (wanted !== undefined && !(BACKEND_NAMES as readonly string[]).includes(wanted)) {
    throw new CliError(`--backend ${name}: unknown backend; use one of ${BACKEND_NAMES.join(', ')}.`);
  }
  try {
    return await initBackend(wanted as (typeof BACKEND_NAMES)[number] | undefined);
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error), 1);
  }
}

export function requireFile(path: string, what: string): string {
  if (!existsSync(path)) throw new CliError(`${what} not found: ${path}`);
  return path;
}

/** A file-system-friendly form of a scenario name. */
export function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'scenario';
}
