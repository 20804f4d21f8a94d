/**
 * Building models from specs: with seeded initial weights, or from a saved state.
 */
import type { RandomStream } from '../../runtime/rng.js';
import { BuiltinModel, builtinParams } from './builtin-model.js';
import { LayersModelAdapter } from './layers-model.js';
import type { Model } from './model.js';
import { type ModelSpec, type ModelState, parseModelSpec } from './spec.js';

/**
 * A new model of `spec` with initial weights drawn from `rng` (bit-identical for one
 * stream state; see init.ts for the rule). Use a stream of its own, e.g.
 * `sim.rng('model/init')`, so that building a model never shifts other draws.
 */
export function createModel(spec: ModelSpec, rng: RandomStream): Model {
  const checked = parseModelSpec(spec);
  return checked.kind === 'layers' ? LayersModelAdapter.build(checked, rng) : BuiltinModel.init(checked, rng);
}

/**
 * A model of `spec` with every weight zero, for scratch use (a worker that will
 * `setWeights` before each use). Draws no randomness.
 */
export function createBlankModel(spec: ModelSpec): Model {
  const checked = parseModelSpec(spec);
  if (checked.kind === 'layers') return LayersModelAdapter.build(checked, 'zeros');
  return new BuiltinModel(checked, builtinParams(checked).map((p) => new Float32Array(p.shape.reduce((a, b) => a * b, 1))));
}

/** Rebuilds a model from `{ spec, weights }` (the weights are copied). */
export function restoreModel(state: ModelState): Model {
  const spec = parseModelSpec(state.spec, 'restoreModel');
  return spec.kind === 'layers' ? LayersModelAdapter.build(spec, { weights: state.weights }) : new BuiltinModel(spec, state.weights);
}
