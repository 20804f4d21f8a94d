/**
 * Running a scenario: a fresh simulation, the scenario's `run`, settle, checks.
 *
 * Errors from the run (a deadlock, a divergence from a verified log) do not throw:
 * they are part of the outcome, because for `explore` and `simulate` a run that
 * throws is just another failing seed. Bad options (an invalid fault plan) do throw.
 */
import { type Observer, Subject } from 'rxjs';
import type { FaultPlanInput, LogStream, RecordedLog, Seed, StrategySpec } from '../runtime/index.js';
import { type CheckResult, evaluateChecks } from './checks.js';
import type { Check, ProgressUpdate, Scenario, ScenarioContext } from './define-scenario.js';
import { FaultPlanActorsError, faultPlanProblems, planPath } from './fault-actors.js';
import { projectPath } from './scenario-path.js';
import { createSimulation, type Sim, type SimOptions } from './simulation-factory.js';
import { hookSteps } from './step-hooks.js';
import type { WorkersOption } from '../fl/parallel/parallel-training.js';

export interface RunScenarioOptions<R = unknown> {
  /** Root seed (default: the scenario's, else 0). */
  seed?: Seed;
  /** Fault plan; replaces the scenario's own. */
  faults?: FaultPlanInput;
  strategy?: StrategySpec;
  /** Stream the event log to this file. */
  record?: string;
  strict?: boolean;
  /** Backend name for the log header. */
  backend?: string;
  /** Compare the run with this recorded log event by event (replay); a LogStream checks a file of any size. */
  verify?: RecordedLog | LogStream | string;
  /** Parameters for `ctx.params`, over the scenario's defaults. */
  params?: Record<string, unknown>;
  /** Invariants checked on top of the scenario's own checks. */
  invariants?: Record<string, Check<R>>;
  /** Extra fields for the log header's `scenario` record (what produced the run). */
  header?: Record<string, unknown>;
  /**
   * The header's `scenario` record exactly as a recorded log has it (replay): used as it
   * is instead of the one built here, which may hold fields the recording did not have
   * (a log recorded before fedsim wrote sha256 or maxSteps).
   */
  recordedHeader?: Record<string, unknown>;
  /** Subscribed to the run's progress$ stream (the updates of `ctx.progress`); it completes when the run ends. */
  progress?: Partial<Observer<ProgressUpdate>>;
  /** Called with the fresh simulation before `run` (attach subscribers here). */
  onSimulation?: (sim: Sim) => void;
  /** Stops the run (outcome.stopped) as soon as this holds, checked around every step. */
  stopWhen?: (sim: Sim) => boolean;
  keepLog?: boolean;
  /** Step budget of one await or settle (default: the scenario's, else the runtime's); recorded in the log header. */
  maxSteps?: number;
  /** Stop the run once the recorded log is this many bytes (SimulationOptions.maxLogBytes). */
  maxLogBytes?: number;
  /** How the steps of each await and settle run (SimulationOptions.runSteps; the CLI makes them stop on Ctrl-C). */
  runSteps?: SimOptions['runSteps'];
  /** ScenarioContext.workers (default 1): threads for local training, or a pool (NATS); not in the header, as it changes nothing in the run. */
  workers?: WorkersOption;
  /** A live transport (SimulationOptions.transport): the run's workers are hosted by other processes, on real time. */
  transport?: SimOptions['transport'];
  /** Replay of a live recording (SimulationOptions.follow): recorded order and fates, every message compared. */
  follow?: SimOptions['follow'];
  /** ScenarioContext.placeClient: live, the FL clients go to worker processes. */
  placeClient?: ScenarioContext['placeClient'];
}

export interface ScenarioOutcome<R = unknown> {
  scenario: Scenario<R>;
  seed: Seed;
  /** The fault plan input the run used (undefined = none). */
  faults: FaultPlanInput | undefined;
  strategy: StrategySpec | undefined;
  /** What `run` returned (undefined if it threw or was stopped). */
  result: R | undefined;
  sim: Sim;
  checks: CheckResult[];
  /** Failed checks, plus a `(run)` entry when the run itself threw. */
  failures: CheckResult[];
  /** What the run threw: the first error of a step, else the error `run`, settle or close threw. */
  error?: unknown;
  /** True when `stopWhen` stopped the run. */
  stopped: boolean;
  /** What `sim.close()` reported (for a verified run: the events checked); unset when close threw or a step had thrown. */
  closed?: { events: number };
  ok: boolean;
}

export const RUN_FAILURE = '(run)';

export async function runScenario<R>(scenario: Scenario<R>, options: RunScenarioOptions<R> = {}): Promise<ScenarioOutcome<R>> {
  const seed = options.seed ?? scenario.seed ?? 0;
  const faults = options.faults ?? scenario.faults;
  const strategy = options.strategy ?? scenario.strategy;
  const params = { ...(scenario.params ?? {}), ...(options.params ?? {}) };
  const maxSteps = options.maxSteps ?? scenario.maxSteps;
  const header: Record<string, unknown> = options.recordedHeader ?? {
    name: scenario.name,
    // Relative to the project, so the same run started from another directory logs the same bytes.
    ...(scenario.path ? { path: projectPath(scenario.path) } : {}),
    // The file's bytes, so a replay can tell that the file is still the one that made the run.
    ...(scenario.path && scenario.sha256 ? { sha256: scenario.sha256 } : {}),
    // The files it loads (a module named by an experiment file): replay checks them before importing them.
    ...(scenario.modules?.length ? { modules: scenario.modules.map((m) => ({ path: projectPath(m.path), sha256: m.sha256 })) } : {}),
    seed,
    strict: options.strict ?? false,
    ...(Object.keys(options.params ?? {}).length ? { params: options.params } : {}),
    // A run stopped by its step budget replays only under the same budget.
    ...(maxSteps !== undefined ? { maxSteps } : {}),
    ...options.header,
  };
  const simOptions: SimOptions = {
    seed,
    faults,
    strategy,
    latency: scenario.latency,
    policies: scenario.policies,
    record: options.record,
    maxLogBytes: options.maxLogBytes,
    strict: options.strict,
    backend: options.backend,
    verify: options.verify,
    scenario: header,
    keepLog: options.keepLog,
    maxSteps,
    runSteps: options.runSteps,
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.follow ? { follow: options.follow } : {}),
  };
  refuseUnknownActors(scenario, faults);
  const sim = createSimulation(simOptions);
  const hooks = hookSteps(sim, options.stopWhen);
  options.onSimulation?.(sim);
  // Displays are plain RxJS subscribers: nothing flows back into the run.
  const progress$ = new Subject<ProgressUpdate>();
  if (options.progress) progress$.subscribe(options.progress);
  const ctx: ScenarioContext = {
    seed,
    params,
    workers: options.workers ?? 1,
    ...(options.placeClient ? { placeClient: options.placeClient } : {}),
    progress: (label, fraction) => progress$.next({ label, fraction: Math.min(1, Math.max(0, fraction)) }),
  };

  let result: R | undefined;
  let error: unknown;
  try {
    result = await scenario.run(sim, ctx);
    if (!hooks.stopped && scenario.settle !== false) await sim.settle();
  } catch (thrown) {
    error = thrown;
  }
  let closed: { events: number } | undefined;
  try {
    const report = sim.close();
    // After a step threw, close() skips the verified-log check, so its count proves nothing.
    if (hooks.stepError === undefined) closed = report;
  } catch (thrown) {
    // A stopped replay has not reached the end of its log: that is expected, not a divergence.
    if (!hooks.stopped) error ??= thrown;
  }
  progress$.complete();

  const outcome: ScenarioOutcome<R> = { scenario, seed, faults, strategy, result, sim, checks: [], failures: [], stopped: hooks.stopped, closed, ok: false };
  const runError = hooks.stepError ?? error;
  if (hooks.stopped) {
    outcome.ok = runError === undefined || isStop(runError);
    if (!outcome.ok) outcome.error = runError;
    return outcome;
  }
  if (runError !== undefined) {
    outcome.error = runError;
    outcome.failures = [{ name: RUN_FAILURE, ok: false, message: describeError(runError) }];
    return outcome;
  }
  outcome.checks = await evaluateChecks({ ...scenario.checks, ...(options.invariants ?? {}) }, result as R, sim);
  outcome.failures = outcome.checks.filter((c) => !c.ok);
  outcome.ok = outcome.failures.length === 0;
  return outcome;
}

/** A scenario that knows its actors refuses, before the run, a fault plan that names others. */
function refuseUnknownActors(scenario: Pick<Scenario<unknown>, 'name' | 'actors'>, faults: FaultPlanInput | undefined): void {
  if (!scenario.actors || faults === undefined) return;
  const problems = faultPlanProblems(faults, scenario.actors);
  if (problems.length === 0) return;
  throw new FaultPlanActorsError(
    `the fault plan of '${scenario.name}' names actors this run does not have:\n` +
      problems.map((p) => `  - at ${planPath(p.path)}: expected ${p.expected}, found '${p.found}'`).join('\n'),
    problems,
  );
}

function isStop(error: unknown): boolean {
  return error instanceof Error && error.name === 'RunStopped';
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
