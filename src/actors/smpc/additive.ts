/**
 * Additive secret sharing and fixed-precision encoding (PySyft 0.2's AdditiveSharingTensor
 * over FixedPrecisionTensor).
 *
 * A value v ∈ Z_Q is split among P parties as P - 1 uniform random shares plus one share
 * v - Σ(others) mod Q. Any P - 1 shares are jointly uniform and independent of v, so a party
 * (or a coalition short of everyone) learns nothing; all P shares sum back to v mod Q.
 *
 * Q (`field`) is any modulus ≥ 2 given as a bigint: the default is the ring Z_{2^64} (as
 * PySyft 0.2 with int64 shares), and a prime works too (needed if a protocol divides by
 * secrets; Beaver multiplication does not). Powers of two reduce with `BigInt.asUintN`,
 * which is several times faster than `%`.
 *
 * Fixed precision: a float x is encoded as round(x · base^precisionFractional), and negative
 * numbers as Q - |x̃| (two's-complement-style "centred" representation). PySyft truncates
 * toward zero when encoding; we round to nearest, which halves the encoding error to
 * ≤ 0.5 / base^precisionFractional per value.
 *
 * SIMULATOR ONLY: randomness comes from the caller's seeded `RandomStream`, so shares are
 * reproducible from the simulation seed; never use them to protect real data.
 */
import type { RandomStream } from '../../runtime/rng.js';

/** Z_{2^64}: the default ring, matching PySyft 0.2's int64 shares. */
export const RING_2_64 = 1n << 64n;

export interface FixedPrecisionOptions {
  /** Integer base of the fixed-point scale (PySyft default 10). */
  base?: number;
  /** Fractional digits in `base` (PySyft default 3, i.e. scale 1000). */
  precisionFractional?: number;
  /** Modulus Q of the share space (default 2^64). */
  field?: bigint;
}

type BigVector = BigInt64Array | BigUint64Array | readonly bigint[];

/** Reduces any bigint (including negatives) into [0, field). */
export function reducer(field: bigint): (v: bigint) => bigint {
  checkField(field);
  const bits = bitLength(field - 1n);
  if (field === 1n << BigInt(bits)) return (v) => BigInt.asUintN(bits, v);
  return (v) => {
    const r = v % field;
    return r < 0n ? r + field : r;
  };
}

/** The centred representative of v ∈ [0, Q): values above Q/2 stand for v - Q (negatives). */
export function toSigned(v: bigint, field: bigint): bigint {
  return v > field >> 1n ? v - field : v;
}

/** `length` elements uniform in [0, field) by rejection sampling on 32-bit words. */
export function randomElements(length: number, rng: RandomStream, field: bigint = RING_2_64): bigint[] {
  checkField(field);
  const bits = bitLength(field - 1n);
  const words = Math.ceil(bits / 32);
  const topBits = bits - 32 * (words - 1); // 1..32 significant bits in the top word
  const topMask = topBits === 32 ? 0xffffffff : (1 << topBits) - 1;
  const out: bigint[] = new Array(length);
  for (let i = 0; i < length; i++) {
    for (;;) {
      // Top word first, masked to the field's bit length, so a power of two never rejects.
      let v = BigInt((rng.uint32() & topMask) >>> 0);
      for (let w = 1; w < words; w++) v = (v << 32n) | BigInt(rng.uint32());
      if (v < field) {
        out[i] = v;
        break;
      }
    }
  }
  return out;
}

/**
 * Splits each value into `parties` additive shares: result[p][i] is party p's share of
 * values[i]. Parties 0..P-2 get fresh random shares; the last gets the remainder.
 */
export function shareAdditive(
  values: BigVector,
  parties: number,
  rng: RandomStream,
  field: bigint = RING_2_64,
): bigint[][] {
  if (!Number.isInteger(parties) || parties < 2) {
    throw new RangeError(`shareAdditive: need at least 2 parties, got ${parties}`);
  }
  const mod = reducer(field);
  const n = values.length;
  const shares: bigint[][] = [];
  const last: bigint[] = new Array(n);
  for (let i = 0; i < n; i++) last[i] = mod(BigInt(values[i]));
  for (let p = 0; p < parties - 1; p++) {
    const r = randomElements(n, rng, field);
    for (let i = 0; i < n; i++) last[i] = mod(last[i] - r[i]);
    shares.push(r);
  }
  shares.push(last);
  return shares;
}

/** Σ_p shares[p][i] mod Q, in [0, Q). Use `toSigned` / `decodeFixed` to read negatives. */
export function reconstructAdditive(shares: readonly (readonly bigint[])[], field: bigint = RING_2_64): bigint[] {
  if (shares.length === 0) throw new RangeError('reconstructAdditive: no shares given');
  const n = shares[0].length;
  for (const s of shares) {
    if (s.length !== n) throw new RangeError(`reconstructAdditive: share lengths differ (${s.length} vs ${n})`);
  }
  const mod = reducer(field);
  const out: bigint[] = new Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0n;
    for (const s of shares) acc += s[i];
    out[i] = mod(acc);
  }
  return out;
}

/** Local share arithmetic (each party on its own shares): (a + b) mod Q. */
export function addShares(a: readonly bigint[], b: readonly bigint[], field: bigint = RING_2_64): bigint[] {
  const mod = reducer(field);
  checkSameLength(a, b);
  return a.map((v, i) => mod(v + b[i]));
}

/** Local share arithmetic: (a - b) mod Q. */
export function subShares(a: readonly bigint[], b: readonly bigint[], field: bigint = RING_2_64): bigint[] {
  const mod = reducer(field);
  checkSameLength(a, b);
  return a.map((v, i) => mod(v - b[i]));
}

/** round(x · base^precision) mod Q; throws if a value does not fit the centred range (|x̃| < Q/2). */
export function encodeFixed(floats: Float32Array | Float64Array | readonly number[], options: FixedPrecisionOptions = {}): bigint[] {
  const { scale, field } = fixedParams(options);
  const mod = reducer(field);
  const half = field >> 1n;
  const out: bigint[] = new Array(floats.length);
  for (let i = 0; i < floats.length; i++) {
    const scaled = Math.round(floats[i] * scale);
    if (!Number.isFinite(scaled)) throw new RangeError(`encodeFixed: value ${i} (${floats[i]}) is not finite`);
    const v = BigInt(scaled);
    if (v >= half || -v >= half) {
      throw new RangeError(`encodeFixed: value ${i} (${floats[i]}) overflows the field at scale ${scale}`);
    }
    out[i] = mod(v);
  }
  return out;
}

/** Inverse of `encodeFixed`: centred representative / base^precision (pass `precisionFractional` × 2 for an untruncated product). */
export function decodeFixed(encoded: readonly bigint[], options: FixedPrecisionOptions = {}): Float64Array {
  const { scale, field } = fixedParams(options);
  const out = new Float64Array(encoded.length);
  for (let i = 0; i < encoded.length; i++) out[i] = Number(toSigned(encoded[i], field)) / scale;
  return out;
}

/** base^precisionFractional as a bigint: the divisor for truncation after a fixed-point product. */
export function fixedScale(options: FixedPrecisionOptions = {}): bigint {
  const { base = 10, precisionFractional = 3 } = options;
  fixedParams(options);
  return BigInt(base) ** BigInt(precisionFractional);
}

function fixedParams(options: FixedPrecisionOptions): { scale: number; field: bigint } {
  const { base = 10, precisionFractional = 3, field = RING_2_64 } = options;
  if (!Number.isInteger(base) || base < 2) throw new RangeError(`fixed precision: base must be an integer ≥ 2, got ${base}`);
  if (!Number.isInteger(precisionFractional) || precisionFractional < 0) {
    throw new RangeError(`fixed precision: precisionFractional must be a non-negative integer, got ${precisionFractional}`);
  }
  checkField(field);
  const scale = base ** precisionFractional;
  if (!Number.isSafeInteger(scale)) throw new RangeError(`fixed precision: scale ${base}^${precisionFractional} is too large`);
  return { scale, field };
}

function checkField(field: bigint): void {
  if (typeof field !== 'bigint' || field < 2n) throw new RangeError(`field modulus must be a bigint ≥ 2, got ${field}`);
}

function checkSameLength(a: readonly unknown[], b: readonly unknown[]): void {
  if (a.length !== b.length) throw new RangeError(`share vector lengths differ: ${a.length} vs ${b.length}`);
}

function bitLength(v: bigint): number {
  return v === 0n ? 1 : v.toString(2).length;
}
