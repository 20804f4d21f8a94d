/**
 * Aggregation arithmetic shared by strategies: float64 accumulation over updates
 * in a fixed order, float32 results.
 */
import { FlConfigError } from '../errors.js';
import { type Weights, assertSameLayout } from '../models/weights.js';
import type { ClientUpdate } from './strategy.js';

/** Throws unless every update has the layout of `reference`, naming the offending client. */
export function checkLayouts(reference: Weights, updates: readonly ClientUpdate[], who: string): void {
  for (const u of updates) assertSameLayout(reference, u.weights, `${who}: the update from client '${u.clientId}'`);
}

/**
 * Σ_k c_k · w_k / Σ_k c_k per coordinate, summed in the given order in float64.
 * With `bySamples`, c_k = n_k (FedAvg); otherwise c_k = 1 (a plain mean). If every
 * n_k is 0 the plain mean is used, so an all-empty round still gives a model.
 */
export function averageUpdates(updates: readonly ClientUpdate[], bySamples: boolean, who: string): Float64Array[] {
  if (updates.length === 0) throw new FlConfigError(`${who}: nothing to aggregate (no client update); pass at least one update`, { at: who, field: 'updates' });
  for (const u of updates) {
    if (!(u.numSamples >= 0) || !Number.isFinite(u.numSamples)) {
      throw new FlConfigError(`${who}: client '${u.clientId}' reported numSamples = ${u.numSamples}; a sample count is a finite number ≥ 0`, { at: who, field: 'numSamples', client: u.clientId });
    }
  }
  const totalSamples = updates.reduce((s, u) => s + u.numSamples, 0);
  const weighted = bySamples && totalSamples > 0;
  const total = weighted ? totalSamples : updates.length;
  const sums = updates[0].weights.map((w) => new Float64Array(w.length));
  for (const u of updates) {
    const c = weighted ? u.numSamples : 1;
    for (let l = 0; l < sums.length; l++) {
      const acc = sums[l];
      const w = u.weights[l];
      for (let j = 0; j < acc.length; j++) acc[j] += c * w[j];
    }
  }
  for (const acc of sums) for (let j = 0; j < acc.length; j++) acc[j] /= total;
  return sums;
}

export function toFloat32(weights: readonly Float64Array[]): Weights {
  return weights.map((w) => Float32Array.from(w));
}

export function toFloat64(weights: readonly Float32Array[]): Float64Array[] {
  return weights.map((w) => Float64Array.from(w));
}

/** Sample-weighted mean of the clients' losses (plain mean if no samples). */
export function meanLoss(updates: readonly ClientUpdate[]): number {
  if (updates.length === 0) return NaN;
  const total = updates.reduce((s, u) => s + u.numSamples, 0);
  if (total === 0) return updates.reduce((s, u) => s + u.loss, 0) / updates.length;
  return updates.reduce((s, u) => s + u.numSamples * u.loss, 0) / total;
}

/**
 * Applies `reduce` to each coordinate's values across updates (in update order),
 * e.g. a median. `column` is reused between coordinates.
 */
export function coordinateWise(updates: readonly ClientUpdate[], reduce: (column: Float64Array) => number): Weights {
  const n = updates.length;
  const column = new Float64Array(n);
  return updates[0].weights.map((layer, l) => {
    const out = new Float32Array(layer.length);
    for (let j = 0; j < layer.length; j++) {
      for (let k = 0; k < n; k++) column[k] = updates[k].weights[l][j];
      out[j] = reduce(column);
    }
    return out;
  });
}
