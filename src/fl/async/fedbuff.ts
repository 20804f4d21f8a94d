/**
 * FedBuff's server update (Nguyen et al. 2022, Algorithm 1), as a pure function.
 *
 * The server keeps a buffer of the client updates that arrived since its last update. Each
 * entry is the client's delta Δ_i = y_i − x_{v_i} (its trained model minus the global model
 * it was dispatched, version v_i) and its staleness weight s(τ_i). When the buffer holds K
 * entries the server steps once:
 *
 *   Δ̄ = (1/K) Σ_i s(τ_i) Δ_i          (the paper divides by K, not by Σ s(τ_i))
 *   x ← x + η_g Δ̄                      (the paper's x − η_g Δ̄ with Δ = y_0 − y_Q: the same step)
 *
 * Sums run in arrival order (a fixed order under the seed) in float64, rounded to float32
 * once at the end, so the step is the same to the bit in every run.
 */
import { FlInvariantError } from '../errors.js';
import type { Weights } from '../models/weights.js';

/** One buffered client update. */
export interface BufferedUpdate {
  client: string;
  /** The dispatch that asked for it (its number: the client's "round"). */
  dispatch: number;
  staleness: number;
  /** s(staleness). */
  weight: number;
  /** y − x_at_dispatch, per tensor, float64. */
  delta: Float64Array[];
  numSamples: number;
  loss: number;
}

/** y − x, per tensor, in float64. */
export function deltaOf(trained: Weights, dispatched: Weights): Float64Array[] {
  return trained.map((y, t) => {
    const x = dispatched[t];
    const out = new Float64Array(y.length);
    for (let j = 0; j < y.length; j++) out[j] = y[j] - x[j];
    return out;
  });
}

/** The global model after one FedBuff step over `buffer` (its K entries), with server learning rate `serverLr`. */
export function fedBuffStep(current: Weights, buffer: readonly BufferedUpdate[], serverLr: number): Weights {
  if (buffer.length === 0) throw new FlInvariantError('fedBuffStep: an empty buffer has no step (the server steps when it holds K updates)', { op: 'fedBuffStep' });
  const k = buffer.length;
  return current.map((x, t) => {
    const sum = new Float64Array(x.length);
    for (const entry of buffer) {
      const d = entry.delta[t];
      for (let j = 0; j < x.length; j++) sum[j] += entry.weight * d[j];
    }
    const out = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) out[j] = x[j] + serverLr * (sum[j] / k);
    return out;
  });
}
