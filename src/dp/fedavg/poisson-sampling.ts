/**
 * Poisson client sampling (DP-FedAvg's, McMahan et al. 2018): each client takes part in a
 * round independently with probability q. This is the sampling the Poisson-sampled
 * Gaussian's privacy amplification assumes; a round's size is then random (it may even be
 * empty), which is why the server divides by the fixed q·N rather than by the round's size.
 */
import type { RandomStream } from '../../runtime/rng.js';
import { compareIds } from '../../fl/strategies/strategy.js';

/** The clients drawn, each with probability q, one draw per client in sorted id order (so the draw depends on the set of ids only). */
export function poissonSample(clients: readonly string[], q: number, rng: RandomStream): string[] {
  return [...clients].sort(compareIds).filter(() => rng.bernoulli(q));
}
