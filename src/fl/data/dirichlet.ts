/**
 * Gamma and Dirichlet variates from a RandomStream.
 *
 * Federated-learning papers draw label skew from Dir(α) with α as small as 0.01.
 * A Gamma(α) draw for such α is often below 1e-300, so the naive "draw gammas,
 * divide by their sum" underflows to 0/0. We therefore work with log-gammas and
 * normalise with log-sum-exp: the result stays a valid probability vector for any α > 0.
 */
import type { RandomStream } from '../../runtime/rng.js';
import { FlConfigError } from '../errors.js';

/** A uniform in (0, 1): never 0, so its logarithm is finite. */
function openUniform(rng: RandomStream): number {
  let u = 0;
  while (u === 0) u = rng.next();
  return u;
}

function checkShape(shape: number, who: string): void {
  if (!(shape > 0) || !Number.isFinite(shape)) {
    throw new FlConfigError(`${who}: the shape must be a finite number > 0, got ${shape}; pass a positive concentration α`, { op: who, field: 'alpha' });
  }
}

/**
 * log of a Gamma(shape, 1) variate. Marsaglia & Tsang (2000) for shape ≥ 1; for
 * shape < 1 the boost Gamma(a) = Gamma(a + 1) · U^(1/a), taken in logs so it cannot underflow.
 */
export function sampleLogGamma(shape: number, rng: RandomStream): number {
  checkShape(shape, 'sampleLogGamma');
  if (shape < 1) {
    return sampleLogGamma(shape + 1, rng) + Math.log(openUniform(rng)) / shape;
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const t = 1 + c * x;
    if (t <= 0) continue;
    const v = t * t * t;
    const u = openUniform(rng);
    // Squeeze test first: it accepts ~98% of draws without a logarithm.
    if (u < 1 - 0.0331 * x * x * x * x) return Math.log(d * v);
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return Math.log(d * v);
  }
}

/** A Gamma(shape, 1) variate (may underflow to 0 for tiny shapes; use sampleLogGamma then). */
export function sampleGamma(shape: number, rng: RandomStream): number {
  return Math.exp(sampleLogGamma(shape, rng));
}

/**
 * A probability vector ~ Dir(alpha). `alpha` is either one concentration for a
 * symmetric Dirichlet of dimension `k`, or the full concentration vector (then `k` is ignored).
 * Components are drawn in index order, so the draws are fixed by the stream alone.
 */
export function sampleDirichlet(alpha: number | readonly number[], k: number, rng: RandomStream): number[] {
  const alphas = typeof alpha === 'number' ? new Array<number>(k).fill(alpha) : [...alpha];
  if (typeof alpha === 'number' && (!Number.isInteger(k) || k < 1)) {
    throw new FlConfigError(`sampleDirichlet: the dimension must be a positive integer, got ${k}; pass the number of components (e.g. clients)`, { op: 'sampleDirichlet', field: 'k' });
  }
  if (alphas.length === 0) throw new FlConfigError('sampleDirichlet: the concentration vector is empty; pass one α per component', { op: 'sampleDirichlet', field: 'alpha' });
  for (const a of alphas) checkShape(a, 'sampleDirichlet');
  const logs = alphas.map((a) => sampleLogGamma(a, rng));
  let max = -Infinity;
  for (const l of logs) if (l > max) max = l;
  const weights = logs.map((l) => Math.exp(l - max));
  let sum = 0;
  for (const w of weights) sum += w;
  return weights.map((w) => w / sum);
}
