/**
 * Distributed DP in a federated run (`dp.mode: distributed`, aggregation secagg+): the pieces
 * the SecAgg+ aggregator, its clients and the DP strategy share.
 *
 *   the plan       one per run, from the dp settings, the model's size, the number of clients
 *                  (the overflow bound is for a round of all of them: Poisson sampling has no
 *                  smaller sure bound) and the rounds. The server, the DP strategy and every
 *                  client compute it from their own copies of the same inputs; the fit carries
 *                  the server's (public) and each client refuses one that is not its own
 *                  (client-checks.ts): the server is not trusted to set the noise.
 *   a round        the aggregator draws the round's rotation seed from its own seeded stream
 *                  and sends it, with the plan, in FitIns.report.dp; each client encodes its
 *                  clipped update Δ = w_trained − w_global (encode.ts) at SecAgg+'s collect
 *                  stage, with its share of the noise for the round's n participants; the
 *                  server decodes the unmasked sum to Σ Δ̃ + noise (decode.ts) and hands the
 *                  strategy the mean w + (that sum)/m over the m survivors, with the round's
 *                  participant count, from which the strategy accounts the round
 *                  (round-privacy.ts).
 */
import { z } from 'zod';
import type { Weights } from '../../fl/models/weights.js';
import type { RandomStream } from '../../runtime/rng.js';
import type { DpSettings } from '../fedavg/settings.js';
import { DpConfigError } from '../errors.js';
import { type DistributedDpPlan, planDistributedDp } from './plan.js';

/** The run's plan: the overflow bound covers `clients` per round (every client: the most a Poisson sample can hold) for `rounds` rounds. */
export function distributedPlanFor(dp: Pick<DpSettings, 'clip' | 'noiseMultiplier' | 'distributed'>, run: { length: number; clients: number; rounds: number }): DistributedDpPlan {
  return planDistributedDp(dp.distributed, { clip: dp.clip, noiseMultiplier: dp.noiseMultiplier, length: run.length, maxParticipants: run.clients, rounds: run.rounds });
}

const finite = z.number().finite();
const positive = finite.positive();

/** The plan as it travels in a fit (every field checked: a client encodes with it). */
export const DistributedDpPlanSchema = z
  .object({
    mechanism: z.literal('skellam'),
    bits: z.number().int().min(2).max(32),
    modulus: positive,
    clip: positive,
    noiseMultiplier: positive,
    scale: positive,
    beta: z.number().min(0).lt(1),
    length: z.number().int().positive(),
    dimension: z.number().int().positive(),
    scaledClip: positive,
    l2: positive,
    l1: positive,
    noiseVariance: positive,
    maxParticipants: z.number().int().positive(),
    rounds: z.number().int().positive(),
    overflowProbability: z.number().gt(0).lt(1),
    logOverflowBound: z.number().max(0),
  })
  .strict()
  .refine((p) => p.modulus === 2 ** p.bits && p.dimension === 2 ** Math.ceil(Math.log2(p.length)), { message: 'modulus must be 2^bits and dimension the power of 2 ≥ length' });

/** FitIns.report.dp under distributed DP. */
export const DistributedFitSchema = z.object({ rotationSeed: z.string().min(1), plan: DistributedDpPlanSchema }).strict();
export type DistributedFit = z.infer<typeof DistributedFitSchema>;

/** The name of the server's stream a round's rotation seed comes from (derived: a re-opened round draws the same). */
export const rotationSeedStream = (round: number) => `dp/rotation/round-${round}`;

/** A round's rotation seed: 128 bits from the server's stream, as hex. */
export function drawRotationSeed(rng: RandomStream): string {
  return Buffer.from(rng.bytes(16)).toString('hex');
}

/** Δ = trained − global over all layers, flattened, in float64. */
export function flatDelta(trained: Weights, global: Weights, who: string): Float64Array {
  const length = global.reduce((n, w) => n + w.length, 0);
  if (trained.length !== global.length || trained.some((w, l) => w.length !== global[l].length)) {
    throw new DpConfigError(`${who}: the trained model's layout differs from the global model's; a distributed-DP update must have the model's shape`, { at: 'flatDelta', field: 'weights' });
  }
  const out = new Float64Array(length);
  let at = 0;
  for (let l = 0; l < global.length; l++) for (let j = 0; j < global[l].length; j++) out[at++] = trained[l][j] - global[l][j];
  return out;
}

/** w + sum/m per layer: the mean the strategy reads (m·(mean − w) gives the sum back). */
export function meanFromSum(global: Weights, sum: Float64Array, contributors: number): Float64Array[] {
  let at = 0;
  return global.map((w) => {
    const out = new Float64Array(w.length);
    for (let j = 0; j < w.length; j++) out[j] = w[j] + sum[at++] / contributors;
    return out;
  });
}
