/**
 * Seeded distributions of one device field, as an experiment file writes them:
 *
 *   samplesPerSecond: 50                                            # every device the same
 *   samplesPerSecond: { kind: uniform, min: 10, max: 100 }
 *   samplesPerSecond: { kind: lognormal, median: 50, sigma: 0.8 }    # median · e^(σ·N(0,1))
 *   samplesPerSecond: { kind: tiers, tiers: [{ value: 20, weight: 3 }, { value: 200, weight: 1 }] }
 *
 * Lognormal because measured device speeds are heavy-tailed (FedScale's and PAPAYA's device
 * measurements; FedScale's own lognormal speed model); tiers for "low-end / mid / flagship"
 * populations. A constant draws nothing, so it never moves a stream.
 */
import { z } from 'zod';
import type { RandomStream } from '../../runtime/rng.js';

/** Numbers for a field that must be > 0 (speeds) or may be 0 (latency). */
const amount = (positive: boolean) => (positive ? z.number().positive({ message: 'expected a speed > 0' }) : z.number().min(0, { message: 'expected a value ≥ 0' }));

/** The schema of one field's value: a number or a distribution. */
export function distributionSchema(positive: boolean) {
  const value = amount(positive);
  return z.union([
    value,
    z.discriminatedUnion('kind', [
      z
        .object({ kind: z.literal('uniform'), min: value, max: value })
        .strict()
        .refine((d) => d.max >= d.min, { message: 'expected max ≥ min', path: ['max'] }),
      z.object({ kind: z.literal('lognormal'), median: z.number().positive({ message: 'expected a median > 0' }), sigma: z.number().min(0, { message: 'expected σ ≥ 0' }) }).strict(),
      z
        .object({
          kind: z.literal('tiers'),
          tiers: z.array(z.object({ value, weight: z.number().positive({ message: 'expected a weight > 0' }) }).strict()).min(1, { message: 'expected at least one tier' }),
        })
        .strict(),
    ]),
  ]);
}

export type Distribution = z.infer<ReturnType<typeof distributionSchema>>;

/**
 * A sampler for one distribution: draws one value per call from `rng`, in call order. A
 * tier's cumulative weights are computed once here, not per draw.
 */
export function samplerOf(distribution: Distribution, rng: RandomStream): () => number {
  if (typeof distribution === 'number') return () => distribution;
  switch (distribution.kind) {
    case 'uniform': {
      const { min, max } = distribution;
      // min === max draws nothing, like a constant.
      return min === max ? () => min : () => rng.uniform(min, max);
    }
    case 'lognormal': {
      const { median, sigma } = distribution;
      return sigma === 0 ? () => median : () => median * Math.exp(sigma * rng.normal());
    }
    case 'tiers': {
      const values = distribution.tiers.map((t) => t.value);
      const cumulative: number[] = [];
      let total = 0;
      for (const tier of distribution.tiers) cumulative.push((total += tier.weight));
      if (values.length === 1) return () => values[0];
      return () => {
        const u = rng.next() * total;
        // Few tiers: a linear scan is clearer than a binary search and as fast.
        for (let k = 0; k < cumulative.length - 1; k++) if (u < cumulative[k]) return values[k];
        return values[values.length - 1];
      };
    }
  }
}
