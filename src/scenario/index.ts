/**
 * The scenario layer: scenario definitions, running them, loading scenario and
 * experiment files, exploring seeds and shrinking failing fault plans, and the
 * `simulate()` test helper. It sits above the runtime (and the actor/pointer
 * layers) and below the FL layer (which registers experiment kinds) and the CLI.
 */
import { registerModuleExperimentKind } from './module-experiment.js';

export { defineScenario, isScenario, withOverrides, ScenarioDefinitionError } from './define-scenario.js';
export type { Check, CheckOutcome, ProgressUpdate, Scenario, ScenarioClientActors, ScenarioContext, ScenarioSpec } from './define-scenario.js';
export { createSimulation, type Sim, type SimOptions } from './simulation-factory.js';
export { runScenario, describeError, RUN_FAILURE, type RunScenarioOptions, type ScenarioOutcome } from './run-scenario.js';
export { evaluateChecks, type CheckResult } from './checks.js';
export { RunStopped } from './step-hooks.js';
export { loadScenario, ScenarioLoadError, type LoadScenarioOptions } from './load-scenario.js';
export {
  registerExperimentKind,
  unregisterExperimentKind,
  experimentKind,
  experimentKinds,
  describeExperimentKinds,
  type ExperimentKind,
  type ExperimentSource,
} from './experiment-kinds.js';
export { experimentFields, resolveFaultsField, readFaultPlanFile, FaultFileError, SeedSchema } from './experiment-fields.js';
export { describeIssues, describeProblems, describeValue, formatPath, type DocumentProblem } from './document-errors.js';
export { FILE_LIMITS, LimitError, effectiveLimits, parseLimitArgument, raiseHint, describeLimits, type LimitSpec, type Limits } from './limits.js';
export { faultPlanProblems, FaultPlanActorsError, listActors, planPath, type PlanProblem } from './fault-actors.js';
export { explore, type ExploreOptions, type ExploreReport, type SeedFailure } from './explore.js';
export { shrinkFaults, injectedItems, type ShrinkOptions, type ShrinkResult } from './shrink-faults.js';
export { ddmin, type DdminResult } from './ddmin.js';
export { injectedScript, faultItems, planOf, type FaultItem } from './injected-faults.js';
export { reproCommand, type ReproSpec } from './repro.js';
export { parseSeed, parseSeedRange, parseStrategy, formatStrategy, ArgumentError } from './run-arguments.js';
export { displayPath, shellQuote, toFilePath, projectPath, projectRoot, recordedFileCandidates } from './scenario-path.js';
export { runStats, totalFaults, type RunStats } from './run-stats.js';
export { describeFaultPlan, unmatchedScriptedFaults } from './fault-summary.js';
export {
  resolveRecordedScenario,
  recordedModulesCheck,
  replayProjectFor,
  changedError,
  sha256OfFile,
  RecordedScenarioError,
  type RecordedScenario,
  type RecordedScenarioOptions,
  type RecordedScenarioProblem,
} from './recorded-scenario.js';
export { closestName, knownFieldsAt } from './field-suggestions.js';
export { normalizeMetrics, chartsOf, type MetricSeries } from './metrics.js';
export { noHandlerErrors, noLostMessages, quiescent } from './invariants.js';
export { simulate, seedList, type SimulateOptions, type TestContextLike } from './simulate.js';

// Built-in experiment kinds are available to every user of the layer.
registerModuleExperimentKind();
export { loadSweepFile, SweepFileError, SweepFileSchema, SWEEP_LIMITS, type Sweep, type SweepRun } from './sweep-file.js';
