/**
 * Poisson sampling of DP-SGD's batches: at every step each of the n examples is in the batch
 * independently with probability q. This is the sampling the accountant's Poisson-sampled
 * Gaussian assumes (Abadi et al. 2016; Mironov, Talwar, Zhang 2019), and what Opacus's
 * DPDataLoader does; a shuffled pass over fixed-size batches would need another analysis.
 * A batch's size is random, and may be 0 (train-dp-sgd.ts says how a step handles that).
 *
 * The draws skip ahead geometrically instead of flipping n coins: the gap before the next
 * included example is ⌊ln V / ln(1 − q)⌋ with V uniform on (0, 1] — P(gap ≥ k) = (1 − q)^k,
 * exactly the run of k coins coming up "out" — so a step costs about q·n + 1 draws instead
 * of n (n²/B draws an epoch would be 360 M for 60,000 examples at B = 10).
 */
import type { RandomStream } from '../../../runtime/rng.js';
import { checkSamplingRate } from '../../../dp/accounting/parameter-checks.js';
import { DpConfigError } from '../../../dp/errors.js';

/** The indices of 0..n−1 in one Poisson-sampled batch (rate q ∈ (0, 1]), increasing. */
export function poissonBatch(n: number, q: number, rng: RandomStream): number[] {
  checkSamplingRate(q, 'poissonBatch', 'q');
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new DpConfigError(`poissonBatch: n must be an integer ≥ 0 (the number of examples to sample from), got ${n}.`, { at: 'poissonBatch', field: 'n', value: n });
  }
  if (q === 1) return Array.from({ length: n }, (_, i) => i);
  const logStay = Math.log1p(-q);
  const batch: number[] = [];
  for (let i = -1; ; ) {
    // 1 − next() is uniform on (0, 1], so the log is finite.
    i += 1 + Math.floor(Math.log1p(-rng.next()) / logStay);
    if (i >= n) return batch;
    batch.push(i);
  }
}
