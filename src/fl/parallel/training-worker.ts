/**
 * The worker thread of a TrainingPool (training-pool.ts): starts the simulation's tfjs
 * backend, says which one it runs, then trains each task it is sent, one at a time, in
 * the order sent. Each outcome goes to the pool's result port, with what this thread checked of
 * the trained weights (result-checks.ts), and bumps the shared signal, which wakes the
 * simulation's thread if it is waiting for it (Atomics.wait).
 *
 * Client data and global weights arrive once and are kept in a bounded cache by key
 * (bounded-cache.ts); a task names them by key and carries them only when the pool's picture
 * of this cache says they are not here. The pool makes the same cache operations in the same
 * order (tasks are handled in the order sent), so the picture is exact; should it not be, the
 * task is answered `missing` and comes back carrying what was missing — never trained on
 * anything else.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { describeBackend, initBackend, type BackendName } from '../../runtime/backend.js';
import { ModelWorkspace } from '../fedavg/workspace.js';
import type { Weights } from '../models/weights.js';
import type { Dataset } from '../training/dataset.js';
import { fusedDenseEnabled } from '../../runtime/fused-dense/module.js';
import { warmUpFusedDense } from '../../runtime/fused-dense/warm-up.js';
import { BoundedCache, type CacheLimits } from './bounded-cache.js';
import { datasetBytes, weightsBytes } from './content-keys.js';
import { backendBuild } from './backend-build.js';
import { type TaskOutcome, type ThreadTask, runTrainingTask } from './training-task.js';
import { postOutcome } from './result-checks.js';

export interface TrainingWorkerData {
  backend: BackendName;
  /** The simulation's backend build (backend-build.ts): a thread that runs another trains nothing. */
  build: string;
  results: MessagePort;
  signal: Int32Array;
  /** This thread's index in the pool (its exit flag is signal[1 + index]). */
  index: number;
  cache: CacheLimits;
  /** A ThreadProgram's settings (training-pool.ts); unused by this one. */
  settings?: unknown;
}

const { backend, build, results, signal, index, cache: limits } = workerData as TrainingWorkerData;
const port = parentPort!;

// However the thread ends (an uncaught error, running out of memory, terminate()), a wait for one of its tasks must end too.
process.on('exit', () => {
  Atomics.store(signal, 1 + index, 1);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});

const answer = (outcome: TaskOutcome) => postOutcome(results, signal, outcome);

let startFailure: string | undefined;
try {
  await initBackend(backend);
  // Optimised code before the first task (warm-up.ts: a cold thread trains its first clients several times slower).
  if (fusedDenseEnabled(backend)) warmUpFusedDense();
  const found = backendBuild(describeBackend());
  if (found !== build) startFailure = `the worker thread runs ${found}, the simulation ${build}; their results could differ in the last bit`;
  port.postMessage({ kind: 'ready', build: found });
} catch (error) {
  startFailure = `the worker thread could not start backend '${backend}': ${(error as Error).message}`;
  port.postMessage({ kind: 'failed', error: startFailure });
}

const workspace = new ModelWorkspace();
const cache = new BoundedCache<Dataset | Weights>(limits);

/** The task's data or weights: carried along (then cached), or from the cache. */
function resolve<T extends Dataset | Weights>(key: string, carried: T | undefined, bytes: (value: T) => number): T | undefined {
  if (carried === undefined) return cache.get(key) as T | undefined;
  cache.set(key, carried, bytes(carried));
  return carried;
}

port.on('message', (task: ThreadTask) => {
  const { id } = task;
  if (startFailure !== undefined) return answer({ id, ok: false, error: startFailure });
  // Data first, then weights: the order the pool's picture of this cache follows.
  const data = resolve(task.dataKey, task.data, datasetBytes);
  const weights = resolve(task.weightsKey, task.weights, weightsBytes);
  if (data === undefined || weights === undefined) return answer({ id, ok: false, missing: true });
  try {
    answer({ id, ok: true, result: runTrainingTask({ ...task, data, ins: { ...task.ins, weights } }, workspace) });
  } catch (error) {
    answer({ id, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
});
