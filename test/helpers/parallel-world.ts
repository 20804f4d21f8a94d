/**
 * A small synthetic FedAvg world for the worker-thread tests (test/fl-parallel-*.test.ts):
 * 20 clients, 10 of them per round, a tiny MLP, so a run takes a fraction of a second and
 * the same run can be made with 1, 2 and 4 threads and compared event by event.
 */
import { createHash } from 'node:crypto';
import { type FaultPlanInput, SimulationCore } from '../../src/runtime/index.js';
import { syntheticFedProx } from '../../src/fl/data/synthetic.js';
import { nn } from '../../src/fl/models/index.js';
import { type ClientData, type FederatedOptions, runFederated } from '../../src/fl/rounds/index.js';
import { TrainingPool, type WorkersOption } from '../../src/fl/parallel/index.js';
import { initBackend } from '../../src/runtime/backend.js';

export const parallelClients: ClientData[] = syntheticFedProx({ alpha: 0.5, beta: 0.5, devices: 20, features: 10, classes: 3, maxSamplesPerDevice: 40 }, { seed: 1, name: 'data' }).map((d) => ({
  x: d.trainX,
  y: d.trainY,
}));

export const parallelOptions = (extra: Partial<FederatedOptions> = {}): FederatedOptions => ({
  model: nn.mlp([10, 12, 3]),
  clients: parallelClients,
  rounds: 3,
  fraction: 0.5,
  localEpochs: 1,
  batchSize: 8,
  lr: 0.1,
  clientEvaluation: 'none',
  trainEvaluation: 'none',
  ...extra,
});

export interface ParallelRun {
  weightsSha256?: string;
  /** Each round's number, participants, failures and skip reason (what a refusal leaves in the result). */
  rounds?: unknown[];
  /** sha256 of the whole event log (header and events) as JSONL. */
  logSha256: string;
  error?: string;
}

/** One run with `workers`; a run that fails is returned with its error's text (compared like the rest). */
export async function parallelRun(options: FederatedOptions, workers: WorkersOption | undefined, seed = 7, faults?: FaultPlanInput): Promise<ParallelRun> {
  const sim = new SimulationCore({ seed, faults });
  let weightsSha256: string | undefined;
  let rounds: unknown[] | undefined;
  let error: string | undefined;
  try {
    const result = await runFederated(sim, { ...options, ...(workers === undefined ? {} : { workers }) });
    weightsSha256 = result.weightsSha256;
    rounds = result.rounds.map((r) => ({ round: r.round, participants: r.participants, failures: r.failures, skipped: r.skipped }));
    await sim.settle();
  } catch (thrown) {
    error = `${(thrown as Error).name}: ${(thrown as Error).message}`;
  }
  return { weightsSha256, rounds, logSha256: createHash('sha256').update(sim.log.toJSONL()).digest('hex'), ...(error !== undefined ? { error } : {}) };
}

/**
 * One TrainingPool of `threads` threads for a whole test file (cpu backend), closed after it;
 * read `shared.pool` inside tests.
 */
export function sharedTrainingPool(
  test: { before(fn: () => Promise<void>): void; after: { always(fn: () => Promise<void>): void } },
  threads = 2,
): { readonly pool: TrainingPool } {
  let pool: TrainingPool | undefined;
  test.before(async () => {
    await initBackend('cpu');
    pool = new TrainingPool(threads);
    await pool.ready();
  });
  test.after.always(async () => {
    await pool?.close();
  });
  return {
    get pool() {
      if (!pool) throw new Error('sharedTrainingPool: the pool starts in test.before; read it inside a test.');
      return pool;
    },
  };
}
