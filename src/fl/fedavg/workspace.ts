/**
 * Scratch models shared by the actors of one run.
 *
 * Clients hold a model *spec* and their data, not tensors: a fit sets the incoming
 * global weights into a scratch model of that spec, trains, and reads the weights
 * back. Handlers run one at a time, and every use starts with `setWeights`, so one
 * scratch model per spec serves every actor of a run, which keeps memory flat with
 * hundreds of clients (and keeps tfjs objects out of xstate snapshots). The run
 * disposes the workspace when it ends.
 */
import { canonicalJson } from '../../runtime/canonical.js';
import { createBlankModel } from '../models/create.js';
import type { Model } from '../models/model.js';
import type { ModelSpec } from '../models/spec.js';
import { type SpecTrainingPlan, buildSpecTrainingPlan } from './plan-trainer.js';

export class ModelWorkspace {
  private readonly models = new Map<string, Model>();
  private readonly plans = new Map<string, SpecTrainingPlan>();

  /** The scratch model of `spec` (built on first use). Its weights are whatever the last user left: set them first. */
  model(spec: ModelSpec): Model {
    const key = canonicalJson(spec);
    let model = this.models.get(key);
    if (!model || model.disposed) {
      model = createBlankModel(spec);
      this.models.set(key, model);
    }
    return model;
  }

  /** A scratch model of `spec` holding `weights`. */
  withWeights(spec: ModelSpec, weights: readonly Float32Array[]): Model {
    const model = this.model(spec);
    model.setWeights(weights);
    return model;
  }

  /** The training plan of `spec` with learning rate `lr` (built on first use; localTrainer 'plan'). Its parameters are whatever the last user left: set them first. */
  trainingPlan(spec: ModelSpec, lr: number): SpecTrainingPlan {
    const key = canonicalJson({ spec, lr });
    let plan = this.plans.get(key);
    if (!plan) {
      plan = buildSpecTrainingPlan(spec, lr);
      this.plans.set(key, plan);
    }
    return plan;
  }

  dispose(): void {
    for (const model of this.models.values()) model.dispose();
    this.models.clear();
    for (const plan of this.plans.values()) plan.dispose();
    this.plans.clear();
  }
}
