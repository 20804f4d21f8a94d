/**
 * Integers in Z_m, m = 2^bits, as SecAgg+ masks them (Uint32Array, bits ≤ 32), in two's
 * complement around 0: v ↦ v mod m on the way in; a sum s ↦ s − m if s ≥ m/2 on the way
 * out. Addition commutes with both, so Σ_i (v_i mod m) read back centred is Σ_i v_i exactly
 * — as long as that true sum lies in [−m/2, m/2). Whether it does is overflow.ts's bound;
 * when it does not, the coordinate wraps to the other end of the range (TFF's "modular
 * clipping"), which is a utility failure only: the reduction mod m is post-processing of
 * the noised sum, so privacy is unaffected.
 */
import { DpConfigError } from '../errors.js';

export const MIN_BITS = 2;
export const MAX_BITS = 32;

export function ringModulus(bits: number): number {
  if (!Number.isInteger(bits) || bits < MIN_BITS || bits > MAX_BITS) {
    throw new DpConfigError(`dp.distributed.bits must be an integer in [${MIN_BITS}, ${MAX_BITS}] (SecAgg+ masks uint32 vectors), got ${bits}`, { at: 'ringModulus', field: 'bits', value: bits });
  }
  return 2 ** bits;
}

/** Each (exact, integer) value mod 2^bits. Values must be safe integers. */
export function toRing(values: ArrayLike<number>, bits: number): Uint32Array {
  const m = ringModulus(bits);
  const out = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isSafeInteger(v)) // The text names no value nor position: the vector is a client's private update.
    throw new DpConfigError('toRing: a value is not an exact integer; round before encoding', { at: 'toRing', field: 'values' });
    const r = v % m;
    out[i] = r < 0 ? r + m : r;
  }
  return out;
}

/** A sum in Z_{2^bits} read as integers in [−2^(bits−1), 2^(bits−1)). */
export function fromRingCentred(sum: Uint32Array, bits: number): Float64Array {
  const m = ringModulus(bits);
  const half = m / 2;
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) {
    if (sum[i] >= m) throw new DpConfigError(`fromRingCentred: a value of the sum is not below the modulus 2^${bits}`, { at: 'fromRingCentred', field: 'sum' });
    out[i] = sum[i] >= half ? sum[i] - m : sum[i];
  }
  return out;
}
