/**
 * fedsim's public API: the simulation with PySyft-style workers and pointers, the
 * protocol, and the runtime underneath (seeded scheduling, event log, replay, faults).
 */
export * from './runtime/index.js';
export * from './messages/index.js';
export {
  virtualWorkerMachine,
  ObjectStore,
  PointerRecord,
  FailedResult,
  StoredPlan,
  RingTensor,
  SmpcError,
  tapeTensorCount,
  DEFAULT_BUDGET,
  predictedElements,
  releaseDecision,
  PUBLIC_LABEL,
  type Label,
  type WorkerBudget,
  type StoreEntry,
  type StoredValue,
  type VirtualWorkerContext,
  type VirtualWorkerInput,
} from './actors/index.js';
export * from './pointers/index.js';
// The user-facing SendOptions (x.send(bob, options)) wins over the runtime's ActorIO send options.
export type { SendOptions } from './pointers/index.js';
// The compute backend: tensorflow (tfjs-node) → wasm → cpu, or FEDSIM_BACKEND; call once before using tensors.
export { initBackend, activeBackend, describeBackend, BackendUnavailableError } from './runtime/backend.js';
