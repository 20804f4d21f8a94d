/** Actor logics: the VirtualWorker machine and its object store. */
export { virtualWorkerMachine, handleMessage, type VirtualWorkerContext, type VirtualWorkerInput } from './virtual-worker.js';
export { ObjectStore, PointerRecord, FailedResult, type StoreEntry, type StoredValue } from './object-store.js';
export * from './privacy/label.js';
export { releaseDecision, type ReleaseDecision } from './privacy/release.js';
export { WorkerState, type Forward, type PrivateFailure } from './worker-state.js';
export { loadOwnData, type OwnerLoadOptions } from './owner-load.js';
export { formatTensor, formatObject, previewObject } from './format-value.js';
export { tapeTensorCount, isTracked } from './autograd.js';
export { StoredPlan } from './stored-plan.js';
export { CompiledPlan, executePlan, PlanOpError, type PlanRunResult } from './plan-interpreter.js';
export { runPlanLoop, PlanLoopError, type PlanLoopOptions, type PlanLoopResult } from './plan-loop.js';
export { RingTensor } from './smpc/ring-tensor.js';
export { SmpcError, type SmpcErrorName } from './smpc/smpc-error.js';
export { engineOf, SmpcEngine } from './smpc/engine.js';
export * from './smpc/ring-vector.js';
export { RING_2_64, encodeFixed, decodeFixed, fixedScale, toSigned, reducer, type FixedPrecisionOptions } from './smpc/additive.js';
