/** Actor logics: the VirtualWorker machine and its object store. */
export { virtualWorkerMachine, handleMessage, type VirtualWorkerContext, type VirtualWorkerInput } from './virtual-worker.js';
export { ObjectStore, PointerRecord, FailedResult, intersectUsers, type StoreEntry, type StoredValue } from './object-store.js';
export { WorkerState, type Forward } from './worker-state.js';
export { tapeTensorCount, isTracked } from './autograd.js';
export { StoredPlan } from './stored-plan.js';
export { CompiledPlan, executePlan, PlanOpError, type PlanRunResult } from './plan-interpreter.js';
export { runPlanLoop, PlanLoopError, type PlanLoopOptions, type PlanLoopResult } from './plan-loop.js';
export { RingTensor } from './smpc/ring-tensor.js';
export { SmpcError, type SmpcErrorName } from './smpc/smpc-error.js';
export { engineOf, SmpcEngine } from './smpc/engine.js';
export * from './smpc/ring-vector.js';
export { RING_2_64, encodeFixed, decodeFixed, fixedScale, toSigned, reducer, type FixedPrecisionOptions } from './smpc/additive.js';
