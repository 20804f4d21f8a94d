/**
 * Scheduling strategies: which deliverable message goes next.
 *
 * The scheduler works out *which* messages could be delivered now (virtual time,
 * FIFO per channel, busy receivers); a strategy only picks one of those. Keeping
 * the choice this small is what lets schedule replay swap the strategy for a
 * recorded log without touching anything else.
 */
import { z } from 'zod';
import type { Envelope } from '../envelope.js';
import type { RandomStream } from '../rng.js';
import { FifoRandomStrategy } from './fifo-random.js';
import { PctStrategy } from './pct.js';
import { RandomStrategy } from './random.js';

export interface SchedulingStrategy {
  readonly name: string;
  /** When true only the head of each sender→receiver channel is a candidate (per-channel FIFO). */
  readonly fifo: boolean;
  /**
   * Index of the envelope to deliver among `candidates[0 .. count)` (called only when
   * count ≥ 2; entries past `count` are stale — the array is reused step after step).
   */
  choose(candidates: readonly Envelope[], count: number, step: number): number;
  /** The strategy's parameters, as recorded in the log header. */
  describe(): StrategySpec;
}

export const StrategySpecSchema = z.union([
  z.literal('fifo-random'),
  z.literal('random'),
  z
    .object({
      name: z.literal('pct'),
      /** Bug depth d: d − 1 priority change points (Burckhardt et al. 2010). */
      depth: z.number().int().min(1).default(3),
      /** Estimated run length k, over which change points are spread uniformly. */
      maxSteps: z.number().int().positive().default(10_000),
    })
    .strict(),
  z.object({ name: z.enum(['fifo-random', 'random']) }).strict(),
]);
export type StrategySpec = z.input<typeof StrategySpecSchema>;

export function createStrategy(spec: StrategySpec | undefined, rng: RandomStream): SchedulingStrategy {
  const parsed = StrategySpecSchema.safeParse(spec ?? 'fifo-random');
  if (!parsed.success) {
    throw new TypeError(
      `Unknown scheduling strategy ${JSON.stringify(spec)}: use 'fifo-random' (default), 'random', or { name: 'pct', depth, maxSteps }.`,
    );
  }
  const value = parsed.data;
  const name = typeof value === 'string' ? value : value.name;
  switch (name) {
    case 'random':
      return new RandomStrategy(rng);
    case 'pct': {
      const pct = value as { depth: number; maxSteps: number };
      return new PctStrategy(rng, pct.depth, pct.maxSteps);
    }
    default:
      return new FifoRandomStrategy(rng);
  }
}
