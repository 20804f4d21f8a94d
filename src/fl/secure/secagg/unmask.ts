/**
 * The server's last step: rebuild the secrets the survivors revealed, strip every mask from
 * the sum of masked inputs, and dequantise.
 *
 *   Σ_{u∈S2} y_u − Σ_{u∈S2} PRG(b_u) ∓ Σ_{d∈S1∖S2} Σ_{j∈N(d)∩S2} PRG(s_dj)  =  Σ_{u∈S2} x_u   (mod m)
 *
 * A dropped client d's pairwise masks remain only in the vectors of its neighbours j that
 * sent one (j ∈ S2): j added +PRG(s_jd) if j > d and −PRG(s_jd) otherwise, so the server
 * applies the opposite sign. Shares are combined in order of their x coordinate, so the
 * result does not depend on the order in which answers arrived.
 */
import { FlRefusal } from '../../errors.js';
import { publicKeyOf } from '../crypto/keys.js';
import { MASK_SEED_BYTES } from '../crypto/prg.js';
import { dequantize } from '../crypto/quantize.js';
import { type Share, combine } from '../crypto/shamir.js';
import { applyMask, pairwiseSeed, pairwiseSign } from './masking.js';
import { quantizationTarget } from './params.js';
import type { UnmaskInputs } from './server-round.js';

export interface Unmasked {
  /** Σ x_u mod m over the survivors: exact. */
  quantizedSum: Uint32Array;
  /** The dequantised sum (survivor count × clipping offset removed); under the 'ring' encoding, the centred reading. */
  sum: Float64Array;
}

/** Thrown when revealed shares do not rebuild a valid secret (a corrupted or lying share): a refusal of those shares. */
export class ReconstructionError extends FlRefusal {
  override name = 'ReconstructionError';
}

export function reconstructSum(inputs: UnmaskInputs): Unmasked {
  const { config, graph, survivors, droppedAfterSharing, seedShares, keyShares, maskingKeys } = inputs;
  const { threshold, modulusRange: m } = config;
  const acc = Uint32Array.from(inputs.maskedSum);

  for (const owner of survivors) {
    const seed = rebuild(seedShares.get(owner), threshold, `the self-mask seed of '${owner}'`);
    if (seed.length !== MASK_SEED_BYTES) {
      throw new ReconstructionError(`the shares of the self-mask seed of '${owner}' rebuild ${seed.length} bytes, not ${MASK_SEED_BYTES}: a share was corrupted`);
    }
    applyMask(acc, seed, -1, m);
  }

  const inSum = new Set(survivors);
  for (const dropped of droppedAfterSharing) {
    const secretKey = rebuild(keyShares.get(dropped), threshold, `the masking key of '${dropped}'`);
    const announced = maskingKeys.get(dropped)!;
    // Unlike the seed, a rebuilt key can be checked: it must match the public key announced in setup.
    if (secretKey.length !== 32 || !equalBytes(publicKeyOf(secretKey), announced)) {
      throw new ReconstructionError(`the shares of the masking key of '${dropped}' do not rebuild the key it announced in setup: a share was corrupted`);
    }
    for (const peer of graph.get(dropped)!) {
      if (peer === dropped || !inSum.has(peer)) continue;
      const peerSign = pairwiseSign(peer, dropped); // how the peer applied it
      applyMask(acc, pairwiseSeed(secretKey, maskingKeys.get(peer)!), peerSign === 1 ? -1 : 1, m);
    }
  }

  const sum =
    survivors.length === 0
      ? new Float64Array(acc.length)
      : config.encoding === 'ring'
        ? centredReading(acc, m)
        : dequantize(acc, config.clippingRange, quantizationTarget(config), survivors.length);
  return { quantizedSum: acc, sum };
}

/**
 * A sum of ring inputs read as signed integers in [−m/2, m/2): the two's complement the
 * encoders use for values around 0 (src/dp/distributed/ring.ts decodes the same way).
 */
export function centredReading(sum: Uint32Array, modulus: number): Float64Array {
  const half = modulus / 2;
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = sum[i] >= half ? sum[i] - modulus : sum[i];
  return out;
}

function rebuild(shares: Share[] | undefined, threshold: number, what: string): Uint8Array {
  if (!shares || shares.length < threshold) {
    throw new ReconstructionError(`${shares?.length ?? 0} share(s) of ${what} were returned, the threshold is ${threshold}`);
  }
  const ordered = [...shares].sort((a, b) => a.x - b.x);
  try {
    return combine(ordered, threshold);
  } catch (error) {
    throw new ReconstructionError(`the shares of ${what} do not combine: ${(error as Error).message}`);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
