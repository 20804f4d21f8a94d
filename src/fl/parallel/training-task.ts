/**
 * One fit's training as a worker thread receives it: plain data (it crosses threads by
 * structured clone), and the function that runs it — `trainForFit`, the very function a
 * client runs when it trains inline (rounds/local-update.ts), on the same inputs:
 *
 *   the model's spec, holding the FitIns's global weights     (workspace.withWeights)
 *   the client's data, the FitIns, the client's state         (as the client would see them)
 *   the algorithm's training hooks                            (rebuilt by name: worker-algorithms.ts)
 *   the round's shuffle stream                                (seed + `actor/<id>/shuffle/round-<r>`,
 *                                                              the stream io.derivedRng gives the client)
 *
 * So the result is the inline one bit for bit, given the same tfjs backend and kernels
 * (the pool checks its threads run the simulation's: training-pool.ts).
 */
import { createStream, type Seed } from '../../runtime/rng.js';
import type { ModelWorkspace } from '../fedavg/workspace.js';
import type { ModelSpec } from '../models/spec.js';
import type { FitIns } from '../rounds/fit.js';
import { shuffleStreamName, trainConfigOf, trainForFit } from '../rounds/local-update.js';
import type { Dataset } from '../training/dataset.js';
import type { TrainResult } from '../training/train-local.js';
import { type HooksName, hooksByName } from './worker-algorithms.js';
import type { WeightsChecks } from './result-checks.js';

export interface TrainingTask {
  /** The client's actor id (names its streams). */
  client: string;
  /** The simulation's root seed. */
  seed: Seed;
  spec: ModelSpec;
  data: Dataset;
  /** `data`'s id (content-keys.ts datasetId): what a thread caches it under. */
  dataKey: string;
  ins: FitIns;
  /** The digest of `ins.weights` (content-keys.ts weightsKey): what a thread caches them under. */
  weightsKey: string;
  /** The algorithm state the client trains this round from (client-fit.ts fitState). */
  state: unknown;
  hooks: HooksName;
}

/**
 * A task as it crosses to a thread: the data and the weights by key, each carried along only
 * when the pool's picture of the thread's cache says it is not there (training-pool.ts).
 */
export interface ThreadTask {
  id: number;
  client: string;
  seed: Seed;
  spec: ModelSpec;
  dataKey: string;
  data?: Dataset;
  weightsKey: string;
  weights?: FitIns['weights'];
  ins: Omit<FitIns, 'weights'>;
  state: unknown;
  hooks: HooksName;
}

/**
 * What a worker answers: the training's result; or that it does not hold the data or weights
 * a task named by key (a thread restarted, or its cache differs from the pool's picture: the
 * pool sends the task again, carrying them); or why the training failed (the client then
 * trains inline and meets the same error).
 */
export type TaskOutcome = { id: number; ok: true; result: TrainResult; checks?: WeightsChecks } | { id: number; ok: false; missing: true } | { id: number; ok: false; missing?: undefined; error: string };

/** An actor's derived stream name, as ActorCell's io.derivedRng forms it (runtime/actor-cell.ts). */
const actorStream = (actor: string, name: string) => `actor/${actor}/${name}`;

/** Trains `task` (its data and weights resolved) with `workspace`'s scratch model. */
export function runTrainingTask(task: Pick<TrainingTask, 'client' | 'seed' | 'spec' | 'data' | 'ins' | 'state' | 'hooks'>, workspace: ModelWorkspace): TrainResult {
  const config = trainConfigOf(task.ins.config);
  const model = workspace.withWeights(task.spec, task.ins.weights);
  const rng = createStream(task.seed, actorStream(task.client, shuffleStreamName(task.ins.round)));
  return trainForFit(hooksByName(task.hooks), model, task.data, task.ins, task.state, config, rng);
}
