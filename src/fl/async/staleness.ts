/**
 * Staleness functions of asynchronous FL: how much an update trained from an old model
 * counts, as a function of its staleness s = v_now − v_at_dispatch (server updates the
 * global model went through while the client trained).
 *
 *   constant              s(τ) = 1
 *   polynomial {a}        s(τ) = (1 + τ)^(−a)           FedBuff's 1/√(1+τ) is a = 0.5
 *   hinge {a, b}          s(τ) = 1 when τ ≤ b, else 1 / (a(τ − b) + 1)
 *
 * The three functions of Xie et al. 2019 ("Asynchronous Federated Optimization", §5);
 * FedBuff (Nguyen et al. 2022, Algorithm 1) scales each update by the polynomial one with
 * a = 0.5. They are pure functions of an integer: the same weight in every run.
 */
import { FlInvariantError } from '../errors.js';
import { z } from 'zod';

export const StalenessFunctionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant') }).strict(),
  z.object({ kind: z.literal('polynomial'), a: z.number().min(0).finite() }).strict(),
  z.object({ kind: z.literal('hinge'), a: z.number().min(0).finite(), b: z.number().int().min(0) }).strict(),
]);
export type StalenessFunction = z.infer<typeof StalenessFunctionSchema>;

/** FedBuff's weight 1/√(1+τ). */
export const FEDBUFF_STALENESS: StalenessFunction = { kind: 'polynomial', a: 0.5 };

/** The weight of an update of staleness `staleness` (an integer ≥ 0). */
export function stalenessWeight(fn: StalenessFunction, staleness: number): number {
  if (!Number.isInteger(staleness) || staleness < 0) throw new FlInvariantError(`stalenessWeight: staleness is a count of server updates (an integer ≥ 0), got ${staleness}`, { op: 'stalenessWeight' });
  switch (fn.kind) {
    case 'constant':
      return 1;
    case 'polynomial':
      // a = 0.5 through Math.sqrt: correctly rounded, so 1/√(1+τ) is the same number everywhere (pow need not be).
      return fn.a === 0.5 ? 1 / Math.sqrt(1 + staleness) : (1 + staleness) ** -fn.a;
    case 'hinge':
      return staleness <= fn.b ? 1 : 1 / (fn.a * (staleness - fn.b) + 1);
  }
}
