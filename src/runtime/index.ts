/** The runtime layer's public surface. */
export { SimulationCore, DEFAULT_MAX_STEPS, type SimulationOptions, type SettleReport, type StepRunner } from './simulation.js';
export { ActorCell, type ActorIO, type ActorMessage, type SendOptions, toErrorPayload } from './actor-cell.js';
export { Reply } from './driver.js';
export { VirtualClock } from './clock.js';
export { createStream, RngRegistry, type RandomStream, type Seed } from './rng.js';
export type { ActorId, Envelope, ErrorPayload } from './envelope.js';
export { ERROR_REPLY } from './envelope.js';
export type { SimEvent, SimEventKind } from './events.js';
export { EventLog, LogFileWriter, LOG_WRITE_CHUNK, eventLine, type LogHeader } from './event-log.js';
export { canonicalJson, digestOf, registerCanonicalEncoder, sha256Hex } from './canonical.js';
export {
  parseFaultPlan,
  planFieldPath,
  FaultPlanSchema,
  FaultPlanError,
  type FaultPlan,
  type FaultPlanInput,
  type ScriptedFault,
  type CrashSpec,
  type PartitionSpec,
  type LinkRule,
  type DelayDistribution,
} from './faults/fault-plan.js';
export type { OnDemandActor, OnDemandFactory } from './on-demand-actors.js';
export { StrategySpecSchema, type StrategySpec } from './scheduling/strategy.js';
export {
  parseLog,
  readLog,
  scanLog,
  openLogStream,
  readEventLine,
  LogFormatError,
  MAX_LOG_LINE_CHARS,
  type LogStream,
  type LogSummary,
  type LogReadOptions,
  type RecordedLog,
  type RecordedEvent,
} from './replay/recorded-log.js';
export { LogHeaderMismatchError } from './replay/log-verifier.js';
export { formatLivenessReport, type LivenessReport, type ActorLiveness } from './liveness.js';
export { DivergenceError, firstDivergence, type Divergence } from './replay/divergence.js';
export { checkDeterminism, verifyRun, type DeterminismReport } from './replay/determinism.js';
export * from './errors.js';
export { setBackendNameSource, backendName } from './backend-name.js';
export { parseRunPolicies, allowsUnsafe, RunPoliciesSchema, ReleasePolicySchema, UNSAFE_SETTINGS, type RunPolicies, type ReleasePolicy, type UnsafeSetting } from './policies.js';
