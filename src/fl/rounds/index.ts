/** The FL round engine: one idempotent round protocol that every aggregation mode and algorithm plugs into. */
export * from './protocol.js';
export * from './fit.js';
export * from './round-aggregate.js';
export type { Aggregator, AggregatorSetup, AggregationOutcome, HelperActor, OpenedRound, RoundView } from './aggregator.js';
export { validateAggregate, type CommitRules } from './commit-checks.js';
export { handleFit, storedAnswer, ANSWER_KEY, stateKey, type Answer, type ReportAnswer, type StoredAnswer } from './client-fit.js';
export { simpleClientLogic, type MessageHandler } from './client-logic.js';
export { localUpdate, stepsFor, shuffleStreamName, trainConfigOf, type LocalTrainer, type LocalUpdate } from './local-update.js';
export { roundServer } from './server-machine.js';
export { CHECKPOINT_KEY, type Checkpoint, type EngineContext, type EngineInput, type EngineTiming } from './server-context.js';
export { type ClientData, type FederatedOptions, type FederatedResult, type FederatedRun, type LazyClients, lazyClients, runFederated } from './run-federated.js';
export { type RoundPolicy, RoundPolicySchema, overSelectionCount, overSelectingPool, roundPolicyProblems } from './round-policy.js';
export { DROP_REASONS, type DropCounts, type DropReason, type DroppedClient } from './drop-reasons.js';
