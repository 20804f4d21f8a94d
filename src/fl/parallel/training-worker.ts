/**
 * The worker thread of a TrainingPool (training-pool.ts): starts the simulation's tfjs
 * backend, says which one it runs, then trains each task it is sent, one at a time, in
 * the order sent. Each outcome goes to the pool's result port and bumps the shared signal,
 * which wakes the simulation's thread if it is waiting for it (Atomics.wait).
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { describeBackend, initBackend, type BackendName } from '../../runtime/backend.js';
import { ModelWorkspace } from '../fedavg/workspace.js';
import { fusedDenseEnabled } from '../../runtime/fused-dense/module.js';
import { warmUpFusedDense } from '../../runtime/fused-dense/warm-up.js';
import { type TaskOutcome, type TrainingTask, runTrainingTask } from './training-task.js';

export interface TrainingWorkerData {
  backend: BackendName;
  results: MessagePort;
  signal: Int32Array;
  /** This thread's index in the pool (its exit flag is signal[1 + index]). */
  index: number;
}

const { backend, results, signal, index } = workerData as TrainingWorkerData;
const port = parentPort!;

// However the thread ends (an uncaught error, running out of memory, terminate()), a wait for one of its tasks must end too.
process.on('exit', () => {
  Atomics.store(signal, 1 + index, 1);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});

function answer(outcome: TaskOutcome): void {
  // The trained weights are fresh copies (model.getWeights): moved, not copied.
  const transfer = outcome.ok ? outcome.result.weights.map((w) => w.buffer as ArrayBuffer) : [];
  results.postMessage(outcome, transfer);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

let startFailure: string | undefined;
try {
  await initBackend(backend);
  // Optimised code before the first task (warm-up.ts: a cold thread trains its first clients several times slower).
  if (fusedDenseEnabled(backend)) warmUpFusedDense();
  port.postMessage({ kind: 'ready', backend: describeBackend() });
} catch (error) {
  startFailure = `the worker thread could not start backend '${backend}': ${(error as Error).message}`;
  port.postMessage({ kind: 'failed', error: startFailure });
}

const workspace = new ModelWorkspace();
port.on('message', ({ id, task }: { id: number; task: TrainingTask }) => {
  if (startFailure !== undefined) return answer({ id, ok: false, error: startFailure });
  try {
    answer({ id, ok: true, result: runTrainingTask(task, workspace) });
  } catch (error) {
    answer({ id, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
  }
});
