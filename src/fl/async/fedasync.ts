/**
 * FedAsync's server update (Xie et al. 2019, "Asynchronous Federated Optimization",
 * Algorithm 1), as a pure function: each client model that arrives is mixed into the
 * global model at once,
 *
 *   α_t = α · s(t − τ)                 (s: a staleness function, staleness.ts)
 *   x_t = (1 − α_t) x_{t−1} + α_t x_new
 *
 * where x_new is the client's trained model (trained from version τ) and t − τ its
 * staleness. Computed in float64 and rounded to float32 once per value.
 */
import { FlInvariantError } from '../errors.js';
import type { Weights } from '../models/weights.js';

export function fedAsyncMix(current: Weights, clientModel: Weights, alpha: number): Weights {
  if (!(alpha >= 0 && alpha <= 1)) throw new FlInvariantError(`fedAsyncMix: the mixing weight α_t must be in [0, 1], got ${alpha}`, { op: 'fedAsyncMix' });
  return current.map((x, t) => {
    const y = clientModel[t];
    const out = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) out[j] = (1 - alpha) * x[j] + alpha * y[j];
    return out;
  });
}
