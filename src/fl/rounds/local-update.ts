/**
 * One client's local update for one round: load the round's global weights, train with
 * the algorithm's hooks, and build the FitRes (weights, n_k, loss, extras, metrics).
 *
 * A pure function of (the FitIns, the client's data, its algorithm state, the seed): the
 * shuffles come from a stream named after the round, `actor/<id>/shuffle/round-<r>`, so
 * training the same round again — after a crash that lost the client's storage — gives
 * the same update bit for bit, and no other round's draws move. Under `dpSgd` the same
 * stream also draws the Poisson batches and seeds the noise, and the client records what the
 * round spent (training/dp-sgd/client-privacy.ts).
 */
import type { ActorIO } from '../../runtime/actor-cell.js';
import { type ClientAlgorithm, keepsState } from '../algorithms/client-algorithm.js';
import { FlInvariantError, FlRefusal, IncompatibleModelError } from '../errors.js';
import { allFinite, assertSameLayout } from '../models/weights.js';
import type { Held } from '../fedavg/held.js';
import type { CostModel } from '../fedavg/cost-model.js';
import type { ClientDevice } from '../devices/client-device.js';
import { type LocalTrainerKind, planFit } from '../fedavg/plan-trainer.js';
import type { ModelWorkspace } from '../fedavg/workspace.js';
import type { ModelSpec } from '../models/spec.js';
import { type Dataset, datasetSize } from '../training/dataset.js';
import { type TrainConfig, type TrainResult, trainLocal } from '../training/train-local.js';
import type { Model } from '../models/model.js';
import type { RandomStream } from '../../runtime/rng.js';
import { recordDpSgdRound } from '../training/dp-sgd/client-privacy.js';
import { type FitIns, type FitRes, lossWithheld, reportMatches } from './fit.js';

/** What a client holds for local training. */
export interface LocalTrainer {
  io: ActorIO;
  /** The client's private data (boxed: see held.ts). */
  data: Held<Dataset>;
  spec: ModelSpec;
  workspace: ModelWorkspace;
  /** The client half of the run's algorithm. */
  algorithm: ClientAlgorithm<any>;
  cost?: CostModel;
  /** Cost multiplier of this device (1 = typical). */
  slowdown?: number;
  /** The client's device (profile and availability): when set, a fit costs fitDurationMs instead of `cost` × `slowdown`. */
  device?: ClientDevice;
  /** 'direct' (default): trainLocal; 'plan': a training Plan (plan-trainer.ts), for algorithms without gradient terms. */
  localTrainer?: LocalTrainerKind;
  /** Trainings done ahead in worker threads (src/fl/parallel/), taken instead of training here when one matches. */
  pretrained?: PretrainedFits;
}

/**
 * Where a client finds the training of a fit already done elsewhere (worker threads:
 * src/fl/parallel/fit-prefetcher.ts). `take` returns exactly what `trainForFit` would return
 * here for this client, FitIns and state — or undefined, and the client trains itself.
 */
export interface PretrainedFits {
  take(client: string, ins: FitIns, state: unknown): TrainResult | undefined;
}

export interface LocalUpdate<S> {
  res: FitRes;
  state: S;
  /** Samples processed over all epochs (what the cost model charges for). */
  samplesSeen: number;
}

/** The training settings of a FitIns config (the algorithm's own fields are its business). */
export function trainConfigOf(config: FitIns['config']): TrainConfig {
  const { epochs, batchSize, lr, optimizer, dropLast, loss, dpSgd } = config;
  return {
    epochs,
    batchSize,
    lr,
    ...(optimizer !== undefined ? { optimizer } : {}),
    ...(dropLast !== undefined ? { dropLast } : {}),
    ...(loss !== undefined ? { loss } : {}),
    ...(dpSgd !== undefined ? { dpSgd } : {}),
  };
}

/** Optimiser steps E epochs of batch B take over n samples. */
export function stepsFor(n: number, config: Pick<TrainConfig, 'epochs' | 'batchSize' | 'dropLast'>): number {
  const perEpoch = config.dropLast ? Math.floor(n / config.batchSize) : Math.ceil(n / config.batchSize);
  return perEpoch * config.epochs;
}

/** The stream a client's round-r training shuffles with (under `actor/<id>/`). */
export const shuffleStreamName = (round: number) => `shuffle/round-${round}`;

/**
 * The training of one fit — what costs time in a local update — as a pure function of the
 * algorithm's hooks, the model's spec (`model` holds the global weights), the client's data,
 * the FitIns, the client's state and the round's shuffle stream. A worker thread runs this
 * same function (src/fl/parallel/training-task.ts), so its result is the one computed here, bit for bit.
 */
export function trainForFit(algorithm: Pick<ClientAlgorithm<any>, 'beforeTraining'>, model: Model, data: Dataset, ins: FitIns, state: unknown, config: TrainConfig, rng: RandomStream): TrainResult {
  const hooks = algorithm.beforeTraining?.(ins, state, model);
  try {
    const terms = { ...(hooks?.affineTerm ? { affineTerm: hooks.affineTerm } : {}), ...(hooks?.gradientTerms ? { gradientTerms: hooks.gradientTerms } : {}) };
    return trainLocal(model, data, { ...config, ...terms }, rng);
  } finally {
    hooks?.dispose?.();
  }
}

export function localUpdate<S>(client: LocalTrainer, ins: FitIns, state: S): LocalUpdate<S> {
  const { io, algorithm } = client;
  const where = { actor: io.id, round: ins.round, op: 'fit' };
  const at = `client '${io.id}' (round ${ins.round})`;
  const config = trainConfigOf(ins.config);
  // A training done ahead passed every check this one makes on the way (the weights' layout, the data against the
  // model): the scratch model then needs no weights; otherwise it takes them first, as it always did.
  const pretrained = client.localTrainer === 'plan' ? undefined : client.pretrained?.take(io.id, ins, state);
  const model = pretrained ? client.workspace.model(client.spec) : client.workspace.withWeights(client.spec, ins.weights);
  const loss = config.loss ?? model.loss;
  let n: number;
  try {
    n = datasetSize(client.data.value, model, loss, at);
  } catch (error) {
    throw new IncompatibleModelError(`${(error as Error).message}. The model ${JSON.stringify(client.spec)} does not fit this client's data: fix the model's inputs/classes or the data.`, where);
  }
  const rng = io.derivedRng(shuffleStreamName(ins.round));
  let weights;
  let meanLoss: number;
  let samplesSeen: number;
  /** Known when a worker thread checked the trained weights already (pretrained results). */
  let weightsFinite: boolean | undefined;
  if (client.localTrainer === 'plan') {
    if (algorithm.usesGradientTerms) throw new FlInvariantError(`${at}: algorithm '${algorithm.name}' needs gradient terms, which the plan trainer cannot add (the run should have refused localTrainer 'plan')`, where);
    const trained = planFit(client.workspace.trainingPlan(client.spec, config.lr), client.spec, client.data.value, ins.weights, config, rng, at);
    ({ weights, meanLoss, samplesSeen } = trained);
  } else {
    const trained = pretrained ?? trainForFit(algorithm, model, client.data.value, ins, state, config, rng);
    ({ weights, meanLoss, samplesSeen, weightsFinite } = trained);
    // Accounted as soon as training ran (before any check that might withhold the update): counting a round that is
    // then refused overstates ε, never understates it.
    if (trained.dpSgd) recordDpSgdRound(io, ins.round, trained.dpSgd);
  }
  // A diverged update would be refused differently by every mode downstream (or break a fixed-point encoding): say it here.
  if (!Number.isFinite(meanLoss) || !(weightsFinite ?? allFinite(weights))) {
    throw new FlRefusal(`${at}: local training diverged: the trained model holds NaN or Infinity (mean loss ${meanLoss}); lower the learning rate (lr ${config.lr}) or check this client's data`, where);
  }
  const after = algorithm.afterTraining?.(ins, { weights, numSamples: n, loss: meanLoss, steps: stepsFor(n, config), lr: config.lr, stream: (name) => io.derivedRng(name) }, state) ?? {};
  // State without initialState would never be confirmed by the server (the engine confirms stateful algorithms only).
  if (after.state !== undefined && !keepsState(algorithm)) {
    throw new FlInvariantError(`${at}: algorithm '${algorithm.name}' returns client state but defines no initialState; an algorithm with client state must define initialState`, where);
  }
  if (after.weights) {
    // Weights of another layout or non-finite ones are the algorithm's bug (its contract), not the user's input.
    try {
      assertSameLayout(weights, after.weights, `${at}: the weights algorithm '${algorithm.name}' reports`);
    } catch (error) {
      throw new FlInvariantError((error as Error).message, where, { cause: error });
    }
    if (!allFinite(after.weights)) throw new FlInvariantError(`${at}: algorithm '${algorithm.name}' reports weights holding NaN or Infinity`, where);
  }
  // An algorithm that withholds n_k and the loss reports 0 for both (they are statistics of the client's data);
  // under DP-SGD the loss alone is withheld (n_k is public there, as in Opacus and TF Privacy, and weights the mean).
  const withheld = algorithm.reports.trainingStats === 'withheld';
  const res: FitRes = {
    round: ins.round,
    weights: after.weights ?? weights,
    numSamples: withheld ? 0 : n,
    loss: lossWithheld(algorithm.reports, config) ? 0 : meanLoss,
    extras: after.extras ?? {},
    metrics: after.metrics ?? {},
  };
  const mismatch = reportMatches(res, algorithm.reports);
  if (mismatch) throw new FlInvariantError(`${at}: algorithm '${algorithm.name}' reported ${mismatch}`, where);
  return { res, state: after.state === undefined ? state : after.state, samplesSeen };
}
