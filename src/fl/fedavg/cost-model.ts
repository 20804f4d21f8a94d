/**
 * What local training costs in virtual time.
 *
 * Handlers are synchronous and take no virtual time by themselves; a client's fit
 * declares its cost with `io.busy(ms)`, so its reply leaves that much later and it
 * receives nothing meanwhile. The cost is linear in the samples processed,
 *
 *   ms = (perFitMs + perSampleMs × samples × epochs) × slowdown,
 *
 * with `slowdown` a per-client factor (device heterogeneity: 1 = typical, 10 = a
 * straggler). The default, 0.1 ms per sample, is of the order of a phone running a
 * small model; only ratios to the round deadline matter.
 */
import { z } from 'zod';

export const CostModelSchema = z
  .object({
    perSampleMs: z.number().min(0).optional(),
    perFitMs: z.number().min(0).optional(),
  })
  .strict();
export type CostModel = z.infer<typeof CostModelSchema>;

export const DEFAULT_COST: Required<CostModel> = { perSampleMs: 0.1, perFitMs: 0 };

/** Virtual ms one fit costs a client that processed `samplesSeen` samples (all epochs). */
export function fitCostMs(cost: CostModel | undefined, samplesSeen: number, slowdown = 1): number {
  const perSample = cost?.perSampleMs ?? DEFAULT_COST.perSampleMs;
  const perFit = cost?.perFitMs ?? DEFAULT_COST.perFitMs;
  return (perFit + perSample * samplesSeen) * slowdown;
}
