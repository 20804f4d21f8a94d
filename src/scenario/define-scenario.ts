/**
 * Scenarios: a named, seeded run of a simulation plus the invariants it must keep.
 *
 * A scenario is data (name, default seed, faults, strategy, latency) and two
 * functions: `run` drives a fresh simulation and returns a result; each check
 * looks at the result (and the finished simulation) and says whether an
 * invariant held. Scenario files default-export one (or just a run function);
 * the CLI, `simulate()` and `fedsim explore` all run them the same way through
 * `runScenario`.
 */
import type { FaultPlanInput, Seed, StrategySpec } from '../runtime/index.js';
import type { WorkersOption } from '../fl/parallel/parallel-training.js';
import { callerFile, toFilePath } from './scenario-path.js';
import type { Sim, SimOptions } from './simulation-factory.js';
import type { AnyActorLogic } from 'xstate';
import type { SimulationCore } from '../runtime/simulation.js';
import type { PlacedActorSpec } from '../runtime/transport/transport.js';

/** What `ctx.progress` reports: display only, never part of the run. */
export interface ProgressUpdate {
  label: string;
  /** In [0, 1]. */
  fraction: number;
}

export interface ScenarioContext {
  /** The root seed of this run. */
  readonly seed: Seed;
  /** Parameters from an experiment file (or `runScenario`'s `params`); {} when none. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Tells displays how far the run is; it must not influence the simulation. */
  progress(label: string, fraction: number): void;
  /**
   * Threads the run may train clients' local updates in (`fedsim run --workers N`; 1 when not
   * asked): pass it to runFederated / runAsyncFederated as `workers`. How fast, never what: the
   * log and the results are the same with any number, so it is not recorded in the log header.
   * A TrainingPool when the run trains elsewhere (`fedsim run --train-nats URL`: worker processes).
   */
  readonly workers: WorkersOption;
  /**
   * Live runs with the clients on worker processes (`fedsim run --transport nats
   * --clients-on-workers`): the placement of FL client `id` (pass it to runFederated as
   * `placeClient`). Undefined otherwise: the clients are spawned in this process.
   */
  readonly placeClient?: (id: string) => PlacedActorSpec;
}

/**
 * How a worker process rebuilds an experiment's FL clients (src/fl/experiments/placed-clients.ts):
 * the run's clients prepared in that process's part of the run, with its seed, exactly as the
 * experiment's `run` prepares them.
 */
export interface ScenarioClientActors {
  /** Every client id of the run, in order. */
  readonly ids: readonly string[];
  /** Prepares the run's clients in `sim` (data, model, algorithm); `actor(id)` is the actor the run would spawn. */
  prepare(sim: SimulationCore): { actor(id: string): { logic: AnyActorLogic; input: Record<string, unknown> }; dispose(): void };
}

/** true/void/undefined = the invariant held; false or a string (the message) = it did not. Throwing fails too. */
export type CheckOutcome = true | false | string | void | undefined;
export type Check<R = any> = (result: R, sim: Sim) => CheckOutcome | Promise<CheckOutcome>;

export interface ScenarioSpec<R = unknown> {
  name: string;
  description?: string;
  /** Default root seed (the CLI's --seed overrides it). */
  seed?: Seed;
  strategy?: StrategySpec;
  /** Default fault plan (the CLI's --faults replaces it). */
  faults?: FaultPlanInput;
  latency?: SimOptions['latency'];
  /** What the run may reveal (a release policy) and which unsafe settings it allows; recorded in the log header. */
  policies?: SimOptions['policies'];
  /**
   * The ids of the actors the run will spawn, when they are known before it starts (an
   * experiment file knows them). A fault plan naming any other actor is refused before
   * the run instead of silently doing nothing.
   */
  actors?: readonly string[];
  /** Default parameters for `ctx.params` (experiment files override them key by key). */
  params?: Record<string, unknown>;
  /**
   * Step budget of one await or settle (a message loop stops with a LivelockError after it).
   * Default: the runtime's 50 million, or the CLI's --max-steps default. Recorded in the log header.
   */
  maxSteps?: number;
  /** Settle (deliver everything pending) after `run` returns, before the checks (default true). */
  settle?: boolean;
  /**
   * The scenario file, so failures can print a command that reproduces them. Pass
   * `import.meta.url`; when omitted it is taken from the caller's stack, and
   * `loadScenario` always sets it to the file it loaded.
   */
  path?: string | URL;
  /** An FL experiment's clients, for worker processes that host them in live runs (ScenarioClientActors). */
  clientActors?: ScenarioClientActors;
  run: (sim: Sim, ctx: ScenarioContext) => R | Promise<R>;
  checks?: Record<string, Check<R>>;
}

export interface Scenario<R = unknown> extends Readonly<Omit<ScenarioSpec<R>, 'path' | 'checks'>> {
  readonly kind: 'fedsim-scenario';
  /** Absolute path of the file that defines the scenario, when known. */
  readonly path?: string;
  /** sha256 (hex) of that file's bytes as loadScenario read them: recorded in the log header, checked by replay. */
  readonly sha256?: string;
  /**
   * The other scenario files loading it read (the module a `kind: module` file names, and
   * theirs), with their bytes' sha256: recorded in the log header, checked by replay before
   * it imports them.
   */
  readonly modules?: ReadonlyArray<{ readonly path: string; readonly sha256: string }>;
  readonly checks: Readonly<Record<string, Check<R>>>;
  /**
   * An experiment file's fields as the run used them (after --set/--param), without
   * `limits` and `maxSteps`: written to results.json, where `fedsim compare` reads them.
   */
  readonly settings?: Readonly<Record<string, unknown>>;
}

export class ScenarioDefinitionError extends Error {
  override name = 'ScenarioDefinitionError';
}

export function defineScenario<R>(spec: ScenarioSpec<R>): Scenario<R> {
  const where = spec.path ? ` (${String(spec.path)})` : '';
  if (typeof spec.name !== 'string' || spec.name.trim() === '') {
    throw new ScenarioDefinitionError(`defineScenario${where}: \`name\` must be a non-empty string, got ${JSON.stringify(spec.name)}.`);
  }
  if (typeof spec.run !== 'function') {
    throw new ScenarioDefinitionError(`defineScenario('${spec.name}')${where}: \`run\` must be a function (sim, ctx) => result.`);
  }
  if (spec.maxSteps !== undefined && !(Number.isSafeInteger(spec.maxSteps) && spec.maxSteps > 0)) {
    throw new ScenarioDefinitionError(`defineScenario('${spec.name}')${where}: \`maxSteps\` must be a positive integer, got ${JSON.stringify(spec.maxSteps)}.`);
  }
  for (const [name, check] of Object.entries(spec.checks ?? {})) {
    if (typeof check !== 'function') {
      throw new ScenarioDefinitionError(`defineScenario('${spec.name}'): check '${name}' must be a function (result, sim) => true | string | void | false.`);
    }
  }
  const path = spec.path === undefined ? callerFile() : toFilePath(spec.path);
  return Object.freeze({ ...spec, kind: 'fedsim-scenario', path, checks: Object.freeze({ ...(spec.checks ?? {}) }) });
}

export function isScenario(value: unknown): value is Scenario {
  return typeof value === 'object' && value !== null && (value as Scenario).kind === 'fedsim-scenario' && typeof (value as Scenario).run === 'function';
}

/** A copy of `scenario` with some fields replaced (what experiment files and the loader do). */
export function withOverrides<R>(scenario: Scenario<R>, overrides: Partial<Omit<Scenario<R>, 'kind' | 'run'>>): Scenario<R> {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return Object.freeze({ ...scenario, ...defined });
}
