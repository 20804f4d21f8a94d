/** The pointer layer: PySyft's user-facing API over the worker actors. */
export { Simulation } from './simulation.js';
export { VirtualWorker, type WorkerOptions, type LoadOptions, type ReceivedMessage } from './worker-handle.js';
export { PointerTensor, type PointerState, type SendOptions, type RemoteArg, type Pointee } from './pointer-tensor.js';
export { MultiPointerTensor } from './multi-pointer.js';
export { rt, callRemote, type RemoteOps, type RemoteOp, type RemoteResult } from './remote-ops.js';
export { hook } from './hook.js';
export { Answer } from './answer.js';
export { LinkMetrics, type LinkStats, type LinkReport, type WorkerTraffic } from './link-metrics.js';
export { TensorsNotCollocatedError, PointerStateError, ObjectNotFoundError, GetNotPermittedError, remoteFailure } from './errors.js';
export { formatTensor, formatObject, formatObjects, show, Transcript, type ScenarioOutput } from './format.js';
