/**
 * Settings of the two cryptographic aggregation options of a federated run
 * (`aggregation: 'additive' | 'secagg+'`), as a scenario file writes them:
 *
 *   aggregation: additive
 *   additive: { precisionFractional: 6 }          # fixed point: round(x · 10^6) in Z_2^64
 *
 *   aggregation: secagg+
 *   secagg: { numShares: 7, reconstructionThreshold: 4, clippingRange: 8 }
 *
 * Everything has a default, so `aggregation: secagg+` alone works.
 */
import { z } from 'zod';

export const AdditiveOptionsSchema = z
  .object({
    /** Fixed-point base (PySyft's default 10). */
    base: z.number().int().min(2).default(10),
    /**
     * Fractional digits in `base`. PySyft defaults to 3; we default to 6 because the
     * values encoded are sample-weighted (n_k · w), whose sum is then divided by Σ n_k:
     * the average's error is at most (clients · 0.5 / base^precision) / Σ n_k per weight.
     */
    precisionFractional: z.number().int().min(0).max(12).default(6),
  })
  .strict();
export type AdditiveOptions = z.infer<typeof AdditiveOptionsSchema>;

export const SecAggOptionsSchema = z
  .object({
    /**
     * Shares per client, itself included (Flower's num_shares). Default per round, for the n
     * clients that trained: min(n, 2⌈log2 n⌉ + 1), Bell et al.'s logarithmic neighbourhood.
     */
    numShares: z.number().int().min(2).optional(),
    /** Shares needed to rebuild a secret (Flower's reconstruction_threshold). Default ⌊k/2⌋ + 1 for k shares. */
    reconstructionThreshold: z.number().int().min(2).optional(),
    /** Updates are clipped to [−c, c] before quantisation (Flower's default 8). Weights beyond it are clipped, silently, as in Flower. */
    clippingRange: z.number().positive().finite().default(8),
    quantizationRange: z.number().int().min(2).default(4194304),
    modulusRange: z.number().int().min(3).max(2 ** 32).default(2 ** 32),
    /** Virtual ms the SecAgg+ server waits for each stage's answers; later answers count as dropouts. */
    timeout: z.number().positive().finite().default(30_000),
    /**
     * Flower's max_weight: a client scales its update by n_k / maxWeight (≤ 1) so that the
     * weighted update stays in the clipping range, and sends that ratio inside the masked
     * vector; the server divides the unmasked sum by the summed ratios, so it learns Σ n_k
     * but no client's n_k. Default: the largest client's training-set size (a bound the
     * operator knows in advance). A client with n_k > maxWeight is refused (it would overflow).
     */
    maxWeight: z.number().positive().finite().optional(),
  })
  .strict()
  .refine((o) => o.numShares === undefined || o.reconstructionThreshold === undefined || o.reconstructionThreshold <= o.numShares, {
    path: ['reconstructionThreshold'],
    message: 'expected at most numShares: a secret split into numShares shares cannot need more of them to be rebuilt',
  });
export type SecAggOptions = z.infer<typeof SecAggOptionsSchema>;

/** Bell et al.'s neighbourhood size for n clients, and a majority threshold (as bench/secagg.ts). */
export function defaultSecAggShares(n: number): { numShares: number; reconstructionThreshold: number } {
  const numShares = Math.max(2, Math.min(n, 2 * Math.ceil(Math.log2(Math.max(n, 2))) + 1));
  return { numShares, reconstructionThreshold: Math.max(2, Math.floor(numShares / 2) + 1) };
}
