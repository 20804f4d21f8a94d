/**
 * Option values shared by several commands: seeds, strategies, fault plans, the
 * output directory, backends — each parsed into what the scenario layer takes,
 * with errors that say which flag was wrong and how to write it.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
// Each from the module that defines it, not the layers' index files: the command line
// declares these parsers at start-up, and a command that needs no simulation (privacy,
// compare, …) should not load the whole runtime and scenario layers with them.
import { FaultPlanError, type FaultPlanInput, parseFaultPlan } from '../runtime/faults/fault-plan.js';
import { ArgumentError, parseSeed, parseSeedRange, parseStrategy } from '../scenario/run-arguments.js';
import { FaultFileError, readFaultPlanFile } from '../scenario/experiment-fields.js';
import { faultPlanProblems, planPath } from '../scenario/fault-actors.js';
import { LimitError, parseLimitArgument } from '../scenario/limits.js';
import { loadScenario, ScenarioLoadError } from '../scenario/load-scenario.js';
import type { Scenario } from '../scenario/define-scenario.js';
import { displayPath } from '../scenario/scenario-path.js';
import { CliError } from './cli-error.js';
import { parseWorkers } from '../fl/parallel/workers-count.js';

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

/** `--seed 42` or `--seed alpha`; a refusal names the flag (the text alone would not say where it came from). */
export const seedOption = optionParser((text) => {
  try {
    return parseSeed(text);
  } catch (error) {
    throw new ArgumentError(`--seed: ${(error as Error).message}`);
  }
});

/** The CLI's step budget of one await or settle (the runtime's own default, 50 million, is for library use); see README "Step budget". */
export const CLI_MAX_STEPS = 1_000_000;

/** `--max-steps 2000000` (also `2e6`, `2_000_000`). */
export const maxStepsOption = optionParser((text) => {
  const n = Number(text.trim().replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--max-steps ${text}: give a positive integer (the step budget of one await or settle, e.g. --max-steps 5000000).`);
  return n;
});

/** `--checkpoint-every 5`: a checkpoint every 5 rounds. */
export const checkpointEveryOption = optionParser((text) => {
  const n = Number(text.trim());
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--checkpoint-every ${text}: give a positive whole number of rounds (e.g. --checkpoint-every 10: a checkpoint after rounds 10, 20, …).`);
  return n;
});

/** `--port N` of `fedsim view --serve`: a TCP port, or 0 for any free one — checked here, before the log is read or replayed. */
export const portOption = optionParser((text) => {
  const trimmed = text.trim();
  const n = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || n > 65535) throw new Error(`--port ${text}: give a TCP port from 1 to 65535 (or 0 for any free port), e.g. --port 8080.`);
  return n;
});

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** `--max-log-bytes 500MB` (B, kB, MB, GB, KiB, MiB, GiB; no unit = bytes). */
export const byteSizeOption = (flag: string) =>
  optionParser((text) => {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
    const unit = match ? BYTE_UNITS[match[2].toLowerCase()] : undefined;
    const n = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : NaN;
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${flag} ${text}: give a size such as 500MB, 2GB or 1048576 (bytes).`);
    return n;
  });

/** `--workers 4`: threads for the clients' local training (a whole number from 1 to MAX_WORKERS). */
export const workersOption = optionParser((text) => {
  try {
    return parseWorkers(text, '--workers');
  } catch (error) {
    throw new ArgumentError((error as Error).message);
  }
});

/** Parameter values nest at most this deep (a file's limit nestingDepth has the same default). */
const MAX_PARAM_DEPTH = 32;

function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length) {
    const [v, depth] = pending.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    for (const child of Object.values(v)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/** A repeatable `<flag> key=value` option (--set, --param); values are JSON when they parse as JSON, else strings. */
export const keyValueOption = (flag: string) => (text: string, previous: Record<string, unknown> = {}) =>
  optionParser((t) => {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new Error(`${flag} ${t}: write key=value (e.g. ${flag} rounds=3).`);
    const key = t.slice(0, eq).trim();
    const raw = t.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: keep the text
    }
    if (depthOf(value) > MAX_PARAM_DEPTH) throw new Error(`${flag} ${key}=…: the value nests more than ${MAX_PARAM_DEPTH} levels deep.`);
    return { ...previous, [key]: value };
  })(text);

/** `--param rounds=3`: the older name of --set, kept working. */
export const paramOption = keyValueOption('--param');
/** `--set lr=0.05`, `--set data.devices=10`: an experiment file's field (or a module's ctx.params). */
export const setOption = keyValueOption('--set');

/**
 * --set and --param together as the run's parameters, with the flag that set each key (for
 * messages). A key given to both is refused: which one wins would be a guess.
 */
export function mergeSetAndParam(set: Record<string, unknown> | undefined, param: Record<string, unknown> | undefined): { params?: Record<string, unknown>; flags: Record<string, string> } {
  if (set === undefined && param === undefined) return { flags: {} };
  const flags: Record<string, string> = {};
  for (const key of Object.keys(param ?? {})) flags[key] = '--param';
  for (const key of Object.keys(set ?? {})) {
    if (flags[key]) throw new CliError(`--set ${key}=… and --param ${key}=… both set '${key}': give it once (--param is the older name of --set).`);
    flags[key] = '--set';
  }
  return { params: { ...param, ...set }, flags };
}
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
    refuseInlineNonObject(value);
    return { plan: readFaultPlanFile(resolve(value), maxBytes), file: value, text: value };
  } catch (error) {
    if (error instanceof FaultPlanError || error instanceof FaultFileError) throw new CliError(error.message);
    throw error;
  }
}

/**
 * `--faults '[]'`, `--faults 5`, `--faults null`: no file of that name, but JSON — an inline
 * plan of the wrong shape, not a missing file.
 */
function refuseInlineNonObject(value: string): void {
  if (existsSync(resolve(value))) return;
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return; // a path: the file reader says it is missing
  }
  const found = Array.isArray(json) ? 'a list' : json === null ? 'null' : `a ${typeof json}`;
  throw new CliError(
    `--faults ${value}: an inline fault plan must be a JSON object (e.g. '{"drop": 0.1}'), found ${found}; ` +
      `or give the path of a fault-plan file (there is no file ${displayPath(resolve(value))}).`,
  );
}

export async function loadScenarioArgument(
  path: string,
  limits?: Record<string, number>,
  params?: Record<string, unknown>,
  verifyCode?: (path: string, sha256: string) => void,
  paramFlags?: Record<string, string>,
): Promise<Scenario<any>> {
  try {
    return await loadScenario(path, { limits, params, verifyCode, paramFlags });
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
export async function startBackend(name: string | undefined, source = `--backend ${name}`): Promise<string> {
  const { initBackend, BACKEND_NAMES, BACKEND_ENV_VAR } = await import('../runtime/backend.js');
  const unknown = (what: string) => new CliError(`${what}: unknown backend; use one of ${BACKEND_NAMES.join(', ')}.`);
  const wanted = name?.split(' ')[0];
  if (wanted !== undefined && !(BACKEND_NAMES as readonly string[]).includes(wanted)) throw unknown(source);
  // The environment variable is a setting like the flag: a bad value is the same usage error.
  const fromEnv = process.env[BACKEND_ENV_VAR]?.trim() ?? '';
  if (wanted === undefined && fromEnv !== '' && !(BACKEND_NAMES as readonly string[]).includes(fromEnv)) throw unknown(`${BACKEND_ENV_VAR}=${fromEnv}`);
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
