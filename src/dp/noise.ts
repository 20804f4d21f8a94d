/**
 * Gaussian noise for DP-FedAvg, drawn from the run's seeded streams (so the same seed gives
 * the same noise, and the same model, bit for bit).
 *
 * This is simulation randomness, not a secure sampler: the streams are seeded PRNGs
 * (xor4096, Box–Muller normals in float64), which is what a reproducible simulator needs
 * and what a deployment must not use — a real DP release draws from a cryptographically
 * secure source with a sampler free of floating-point attacks (Mironov 2012), such as the
 * discrete Gaussian of Canonne, Kamath and Steinke 2020.
 */
import type { RandomStream } from '../runtime/rng.js';

/** A copy of `values` with N(0, std²) added to every coordinate, drawn in layer order. */
export function withGaussianNoise(values: readonly Float64Array[], std: number, rng: RandomStream): Float64Array[] {
  return values.map((layer) => {
    const out = new Float64Array(layer.length);
    for (let j = 0; j < layer.length; j++) out[j] = layer[j] + rng.normal(0, std);
    return out;
  });
}
