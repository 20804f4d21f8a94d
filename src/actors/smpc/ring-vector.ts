/**
 * Vectors of ring elements as BigUint64Array: the form shares are stored and sent in.
 *
 * additive.ts works on bigint[] for any modulus; the messages and the workers' stores
 * keep 64-bit words instead (8 bytes per element, like PySyft 0.2's int64 shares), so the
 * modulus Q here is at most 2^64. For Q = 2^64 the array's own wrap-around is the reduction
 * (`a[i] = x` stores x mod 2^64); any other Q reduces explicitly.
 *
 * The draws are the same as additive.ts's (randomElements / shareAdditive), word for word,
 * so both give the same shares from the same stream.
 */
import type { RandomStream } from '../../runtime/rng.js';
import { type FixedPrecisionOptions, RING_2_64, encodeFixed, fixedScale, randomElements, reducer, toSigned } from './additive.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Throws unless `field` can be stored in 64-bit words. */
export function checkWordField(field: bigint, where: string): void {
  if (typeof field !== 'bigint' || field < 2n || field > RING_2_64) {
    throw new RangeError(`${where}: the field modulus must be a bigint in [2, 2^64] (shares are stored as 64-bit words), got ${field}`);
  }
}

/** `length` elements uniform in [0, field), drawn as additive.ts's randomElements draws them. */
export function randomVector(length: number, rng: RandomStream, field: bigint = RING_2_64): BigUint64Array {
  if (field !== RING_2_64 || !LITTLE_ENDIAN) return BigUint64Array.from(randomElements(length, rng, field));
  // Z_2^64 never rejects: two words per element, the high word drawn first (as randomElements).
  const words = new Uint32Array(2 * length);
  for (let i = 0; i < length; i++) {
    words[2 * i + 1] = rng.uint32();
    words[2 * i] = rng.uint32();
  }
  return new BigUint64Array(words.buffer);
}

/** Splits `values` into `parties` additive shares (parties 0..P−2 random, the last the remainder), as shareAdditive. */
export function splitVector(values: BigUint64Array, parties: number, rng: RandomStream, field: bigint = RING_2_64): BigUint64Array[] {
  if (!Number.isInteger(parties) || parties < 2) throw new RangeError(`splitVector: need at least 2 parties, got ${parties}`);
  const shares: BigUint64Array[] = [];
  const last = BigUint64Array.from(values);
  for (let p = 0; p < parties - 1; p++) {
    const r = randomVector(values.length, rng, field);
    subInPlace(last, r, field);
    shares.push(r);
  }
  shares.push(last);
  return shares;
}

/** acc ← acc + b (mod field); returns acc. */
export function addInPlace(acc: BigUint64Array, b: BigUint64Array, field: bigint = RING_2_64): BigUint64Array {
  checkLengths(acc, b);
  if (field === RING_2_64) for (let i = 0; i < acc.length; i++) acc[i] = acc[i] + b[i];
  else for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] + b[i]) % field;
  return acc;
}

/** acc ← acc − b (mod field); returns acc. */
export function subInPlace(acc: BigUint64Array, b: BigUint64Array, field: bigint = RING_2_64): BigUint64Array {
  checkLengths(acc, b);
  if (field === RING_2_64) for (let i = 0; i < acc.length; i++) acc[i] = acc[i] - b[i];
  else for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] + field - b[i]) % field;
  return acc;
}

/** Σ vectors (mod field), in the given order, into a new vector. */
export function sumVectors(vectors: readonly BigUint64Array[], field: bigint = RING_2_64): BigUint64Array {
  if (vectors.length === 0) throw new RangeError('sumVectors: no vectors given');
  const out = BigUint64Array.from(vectors[0]);
  for (let v = 1; v < vectors.length; v++) addInPlace(out, vectors[v], field);
  return out;
}

/** round(x · base^precision) mod field, as 64-bit words (see additive.ts's encodeFixed for the range rule). */
export function encodeFixedVector(floats: Float32Array | Float64Array | readonly number[], options: FixedPrecisionOptions = {}): BigUint64Array {
  checkWordField(options.field ?? RING_2_64, 'encodeFixedVector');
  return BigUint64Array.from(encodeFixed(floats, options));
}

/**
 * The same encoding without failing: a value outside the centred range is clamped to its
 * edge (±(Q/2 − 1)), and NaN becomes 0. For private data, where a failure would tell the
 * caller that some value is large (one bit per try, enough to recover it by bisection).
 */
export function encodeFixedVectorSaturating(floats: Float32Array | Float64Array | readonly number[], options: FixedPrecisionOptions = {}): BigUint64Array {
  const field = options.field ?? RING_2_64;
  checkWordField(field, 'encodeFixedVectorSaturating');
  const scale = Number(fixedScale(options));
  const edge = (field >> 1n) - 1n;
  const mod = reducer(field);
  const out = new BigUint64Array(floats.length);
  for (let i = 0; i < floats.length; i++) {
    const scaled = Math.round(floats[i] * scale);
    let v: bigint;
    if (Number.isNaN(scaled)) v = 0n;
    else if (!Number.isFinite(scaled)) v = scaled > 0 ? edge : -edge;
    else {
      v = BigInt(scaled);
      if (v > edge) v = edge;
      else if (v < -edge) v = -edge;
    }
    out[i] = mod(v);
  }
  return out;
}

/** Centred representative / base^precision, in float64. */
export function decodeFixedVector(encoded: BigUint64Array, options: FixedPrecisionOptions = {}): Float64Array {
  const field = options.field ?? RING_2_64;
  const scale = Number(fixedScale(options));
  const out = new Float64Array(encoded.length);
  for (let i = 0; i < encoded.length; i++) out[i] = Number(toSigned(encoded[i], field)) / scale;
  return out;
}

/** Integers (int32 tensor values) into the ring: negatives as Q − |v|. */
export function encodeIntegers(values: ArrayLike<number>, field: bigint = RING_2_64): BigUint64Array {
  const mod = reducer(field);
  const out = new BigUint64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = mod(BigInt(values[i]));
  return out;
}

/** The centred representatives as numbers (exact while they fit in ±2^53). */
export function decodeIntegers(values: BigUint64Array, field: bigint = RING_2_64): number[] {
  return Array.from(values, (v) => Number(toSigned(v, field)));
}

function checkLengths(a: BigUint64Array, b: BigUint64Array): void {
  if (a.length !== b.length) throw new RangeError(`ring vectors differ in length: ${a.length} vs ${b.length}`);
}
