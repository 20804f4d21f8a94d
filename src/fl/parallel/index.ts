export { TrainingPool, MAX_WORKERS, parseWorkers } from './training-pool.js';
export { FitPrefetcher } from './fit-prefetcher.js';
export { parallelTraining, type ParallelTraining, type WorkersOption } from './parallel-training.js';
export { hooksNameOf } from './worker-algorithms.js';
export type { TrainingTask, TaskOutcome } from './training-task.js';
