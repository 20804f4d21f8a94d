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

export class ModelWorkspace {
  private readonly models = new Map<string, Model>();

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

  dispose(): void {
    for (const model of this.models.values()) model.dispose();
    this.models.clear();
  }
}
