/**
 * A client's weighted update as one flat vector, and the aggregate read back from the
 * sum of such vectors.
 *
 * Secure aggregation adds vectors and reveals only the sum, so whatever the server needs
 * besides the weights must ride inside them: a client with weight c (its n_k, or Flower's
 * n_k / max_weight) sends
 *
 *   [ c·w_0 … c·w_{L−1},  c,  c·loss ]
 *
 * and from the sum S the server reads the FedAvg average S[0..L) / S[L], the total weight
 * S[L] and the weighted mean loss S[L+1] / S[L] — never one client's n_k or loss.
 */
import type { Weights } from '../models/weights.js';

/** The vector for weights `weights` scaled by `c`, with c and c·loss appended (float64: no rounding before encoding). */
export function packWeightedUpdate(weights: readonly Float32Array[], c: number, loss: number): Float64Array {
  let length = 0;
  for (const w of weights) length += w.length;
  const out = new Float64Array(length + 2);
  let at = 0;
  for (const w of weights) for (let j = 0; j < w.length; j++) out[at++] = c * w[j];
  out[at++] = c;
  out[at] = c * loss;
  return out;
}

/** Length of the packed vector for a model with these weight arrays. */
export function packedLength(layout: readonly { length: number }[]): number {
  return layout.reduce((n, w) => n + w.length, 0) + 2;
}

export interface WeightedAggregate {
  /** Σ c_k w_k / Σ c_k, in the layout of `layout`. */
  weights: Weights;
  /** Σ c_k. */
  totalWeight: number;
  /** Σ c_k loss_k / Σ c_k (NaN when the total weight is 0). */
  loss: number;
}

/** Reads the FedAvg average from the sum of packed vectors; null when the total weight is not positive. */
export function unpackWeightedSum(sum: ArrayLike<number>, layout: readonly { length: number }[]): WeightedAggregate | null {
  const length = packedLength(layout);
  if (sum.length !== length) throw new RangeError(`unpackWeightedSum: the sum has ${sum.length} values, the model needs ${length}`);
  const total = sum[length - 2];
  if (!(total > 0)) return null;
  let at = 0;
  const weights = layout.map((w) => {
    const out = new Float32Array(w.length);
    for (let j = 0; j < out.length; j++) out[j] = sum[at++] / total;
    return out;
  });
  return { weights, totalWeight: total, loss: sum[length - 1] / total };
}
