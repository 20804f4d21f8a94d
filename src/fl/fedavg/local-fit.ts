/**
 * One client's local training for a fit, as the secure-aggregation clients run it
 * (the same steps as client.ts: load the global weights, train, charge the cost model's
 * virtual time). Throws, with the client and round, when the weights or data do not fit
 * the model; the caller turns that into an error reply.
 */
import type { ActorIO } from '../../runtime/actor-cell.js';
import type { ModelSpec } from '../models/spec.js';
import type { Weights } from '../models/weights.js';
import type { Dataset } from '../training/dataset.js';
import { trainLocal } from '../training/train-local.js';
import { type CostModel, fitCostMs } from './cost-model.js';
import type { Held } from './held.js';
import type { FitMessage } from './messages.js';
import { type LocalTrainerKind, planFit } from './plan-trainer.js';
import type { ModelWorkspace } from './workspace.js';

export interface LocalTrainer {
  io: ActorIO;
  data: Held<Dataset>;
  spec: ModelSpec;
  workspace: ModelWorkspace;
  cost?: CostModel;
  slowdown?: number;
  /** 'direct' (default): trainLocal on the scratch model; 'plan': a training Plan looped by plan.train (plan-trainer.ts). */
  localTrainer?: LocalTrainerKind;
}

export interface LocalFit {
  weights: Weights;
  numSamples: number;
  loss: number;
}

/**
 * Trains on the client's data from the fit's global weights, with the client's trainer;
 * charges nothing (the caller charges `samplesSeen` through the cost model).
 */
export function trainForFit(client: LocalTrainer, fit: FitMessage): LocalFit & { samplesSeen: number } {
  const { io } = client;
  // The client's own stream: its training does not depend on other clients' draws.
  const trained =
    client.localTrainer === 'plan'
      ? planFit(client.workspace.trainingPlan(client.spec, fit.config.lr), client.spec, client.data.value, fit.weights, fit.config, io.rng('shuffle'), `client '${io.id}'`)
      : trainLocal(client.workspace.withWeights(client.spec, fit.weights), client.data.value, { ...fit.config, globalWeights: fit.weights }, io.rng('shuffle'));
  return { weights: trained.weights, numSamples: trained.numSamples, loss: trained.meanLoss, samplesSeen: trained.samplesSeen };
}

export function fitLocally(client: LocalTrainer, fit: FitMessage): LocalFit {
  const { io } = client;
  try {
    const trained = trainForFit(client, fit);
    io.busy(fitCostMs(client.cost, trained.samplesSeen, client.slowdown ?? 1));
    return { weights: trained.weights, numSamples: trained.numSamples, loss: trained.loss };
  } catch (error) {
    throw Object.assign(error as Error, { where: { actor: io.id, round: fit.round, op: 'fit' } });
  }
}
