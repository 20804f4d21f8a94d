/**
 * A client's side of distributed DP: its clipped update in, the vector it hands SecAgg+'s
 * masking out — clip to C, scale by s, rotate, round conditionally, add this client's share
 * of the Skellam noise, reduce mod 2^bits (plan.ts has the whole pipeline). The server never
 * sees this vector unmasked; it sees only the sum, which already carries every surviving
 * client's share of the noise.
 *
 * The clip is applied here again even when the caller clipped already: the accounting's
 * sensitivity rests on it, so it must not depend on another layer's good behaviour.
 */
import type { RandomStream } from '../../runtime/rng.js';
import { DpConfigError } from '../errors.js';
import { type DistributedDpPlan, shareMean } from './plan.js';
import { sampleSkellamVector } from './poisson.js';
import { toRing } from './ring.js';
import { rotate, rotationSigns } from './rotation.js';
import { conditionalRound } from './rounding.js';

/** What a client needs to know about the round, besides the plan: both are public. */
export interface RoundEncoding {
  /** The round's rotation seed, the same for every client and the server. */
  rotationSeed: string;
  /** n: how many clients take part in the round's sum (each adds V/n of noise). */
  participants: number;
}

export interface EncodedUpdate {
  /** The update in Z_{2^bits}, length plan.dimension: hand it to SecAgg+ (encoding 'ring'). */
  ring: Uint32Array;
  /** True when the update's norm exceeded C and was scaled down to it. */
  clipped: boolean;
  /** Conditional rounding's draws (1/(1 − β) at most on average). */
  roundingTries: number;
  /** True when rounding fell back to rounding toward zero (probability ≤ β^100). */
  roundingFellBack: boolean;
}

/** Names of the client's streams for a round (derived: redoing the round draws the same). */
export const encodeStreams = (round: number) => ({ rounding: `dp/rounding/round-${round}`, noise: `dp/noise/round-${round}` });

export function encodeUpdate(
  update: ArrayLike<number>,
  plan: DistributedDpPlan,
  round: RoundEncoding,
  streams: { rounding: RandomStream; noise: RandomStream },
): EncodedUpdate {
  if (update.length !== plan.length) {
    throw new DpConfigError(`distributed DP: the update has ${update.length} values, the plan ${plan.length}; every client must encode a vector of the model's size`, {
      at: 'encodeUpdate',
      field: 'update',
      value: update.length,
    });
  }
  let norm2 = 0;
  for (let i = 0; i < update.length; i++) {
    const v = update[i];
    if (!Number.isFinite(v)) {
      throw new DpConfigError(`distributed DP: update value ${i} is ${v}; an update with NaN or Infinity means training diverged (lower the learning rate)`, { at: 'encodeUpdate', field: 'update', index: i });
    }
    norm2 += v * v;
  }
  const norm = Math.sqrt(norm2);
  const clipped = norm > plan.clip;
  const factor = plan.scale * (clipped ? plan.clip / norm : 1);
  const scaled = new Float64Array(update.length);
  for (let i = 0; i < update.length; i++) scaled[i] = update[i] * factor;
  const rotated = rotate(scaled, rotationSigns(round.rotationSeed, plan.dimension));
  const rounded = conditionalRound(rotated, plan.l2, streams.rounding);
  const noise = sampleSkellamVector(plan.dimension, shareMean(plan, round.participants), streams.noise);
  const values = rounded.values;
  for (let i = 0; i < values.length; i++) values[i] += noise[i];
  return { ring: toRing(values, plan.bits), clipped, roundingTries: rounded.tries, roundingFellBack: rounded.fellBack };
}
