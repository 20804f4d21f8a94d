/**
 * The server's side of distributed DP: the unmasked sum mod 2^bits in, Σ (clipped updates)
 * + noise out, in the update's own units. Read the sum centred (ring.ts), un-rotate with the
 * round's seed (rotation.ts), divide by s. Linear throughout, so the un-rotated noise is
 * still mean 0 with variance V/s² per coordinate ((z·C)², central DP's) when every share
 * is in; it is then a sum of ±Skellam/√d terms, close to Gaussian in shape.
 */
import { DpConfigError } from '../errors.js';
import type { DistributedDpPlan } from './plan.js';
import { fromRingCentred } from './ring.js';
import { rotationSigns, unrotate } from './rotation.js';

export function decodeSum(ringSum: Uint32Array, plan: DistributedDpPlan, rotationSeed: string): Float64Array {
  if (ringSum.length !== plan.dimension) {
    throw new DpConfigError(`distributed DP: the unmasked sum has ${ringSum.length} values, the plan's rotated dimension is ${plan.dimension}`, {
      at: 'decodeSum',
      field: 'ringSum',
      value: ringSum.length,
    });
  }
  const centred = fromRingCentred(ringSum, plan.bits);
  const sum = unrotate(centred, rotationSigns(rotationSeed, plan.dimension), plan.length);
  for (let i = 0; i < sum.length; i++) sum[i] /= plan.scale;
  return sum;
}
