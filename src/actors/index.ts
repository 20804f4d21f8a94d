/** Actor logics: the VirtualWorker machine and its object store. */
export { virtualWorkerMachine, handleMessage, type VirtualWorkerContext, type VirtualWorkerInput } from './virtual-worker.js';
export { ObjectStore, PointerRecord, FailedResult, intersectUsers, type StoreEntry, type StoredValue } from './object-store.js';
export { WorkerState, type Forward } from './worker-state.js';
export { tapeTensorCount, isTracked } from './autograd.js';
