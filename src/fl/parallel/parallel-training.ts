/**
 * The `workers` option of runFederated and runAsyncFederated: how many threads train the
 * clients' local updates (1, the default: the simulation's own thread), or a TrainingPool to
 * share between runs (a benchmark's, a test suite's: threads take a moment to start). A run
 * that makes its own pool closes it when it ends; a pool it is given stays open.
 */
import type { SimulationCore } from '../../runtime/simulation.js';
import { FitPrefetcher } from './fit-prefetcher.js';
import { TrainingPool } from './training-pool.js';
import { parseWorkers } from './workers-count.js';

export type WorkersOption = number | TrainingPool;

export interface ParallelTraining {
  /** Goes into every client's context (LocalTrainer.pretrained); undefined without workers. */
  readonly pretrained: FitPrefetcher | undefined;
  /** Awaited before the run's first step: refuses threads that run another backend build (TrainingPool.ready). */
  ready(): Promise<void>;
  close(): void;
}

const NONE: ParallelTraining = { pretrained: undefined, ready: async () => {}, close: () => {} };

export function parallelTraining(sim: SimulationCore, workers: WorkersOption | undefined, isClient: (id: string) => boolean, where: string): ParallelTraining {
  if (workers === undefined) return NONE;
  const shared = workers instanceof TrainingPool;
  if (!shared && parseWorkers(workers, `${where}: workers`) === 1) return NONE;
  const pool = shared ? workers : new TrainingPool(workers);
  const pretrained = new FitPrefetcher(sim, pool, isClient);
  return {
    pretrained,
    ready: () => pool.ready(),
    close: () => {
      pretrained.close();
      if (!shared) void pool.close();
    },
  };
}
