/**
 * The randomised Hadamard rotation of distributed DP: y = H·D·x / √d, with D a diagonal of
 * random signs and H the d × d Walsh–Hadamard matrix (d a power of 2; x is padded with
 * zeros). H·D/√d is orthogonal, so it keeps the L2 norm (the sensitivity) and the server
 * undoes it exactly in exact arithmetic: x = D·H·y / √d.
 *
 * Why rotate (Kairouz, Liu, Steinke 2021, §4.2): an update can put all its mass on a few
 * coordinates, and then the sum of n of them leaves the modular range quickly. After the
 * rotation each coordinate is a Rademacher sum Σ_l ±x_l/√d, sub-Gaussian with variance
 * proxy ‖x‖²/d, whatever x was — which overflow.ts turns into a tail bound. For that the
 * signs must not depend on the data; they come from a seed that the whole round shares
 * (every client and the server rotate with the same D, or the sum would not un-rotate),
 * which is public: the rotation hides nothing, it only flattens.
 */
import { createStream } from '../../runtime/rng.js';
import { DpConfigError } from '../errors.js';

/** The name of the stream the signs are drawn from (under the round's rotation seed). */
export const ROTATION_STREAM = 'dp/rotation-signs';

/** The smallest power of 2 ≥ length (at least 1): the rotated vector's length. */
export function paddedDimension(length: number): number {
  if (!Number.isSafeInteger(length) || length < 1) {
    throw new DpConfigError(`paddedDimension: the update's length must be a positive integer, got ${length}`, { at: 'paddedDimension', field: 'length', value: length });
  }
  return 2 ** Math.ceil(Math.log2(length));
}

/** The d signs (±1) of the round whose rotation seed is `seed`: the same for every client and the server. */
export function rotationSigns(seed: string, d: number): Int8Array {
  const rng = createStream(seed, ROTATION_STREAM);
  const signs = new Int8Array(d);
  for (let i = 0; i < d; i += 32) {
    let word = rng.uint32();
    for (let bit = 0; bit < 32 && i + bit < d; bit++, word >>>= 1) signs[i + bit] = word & 1 ? 1 : -1;
  }
  return signs;
}

/** In-place fast Walsh–Hadamard transform (unnormalised: applying it twice multiplies by d). */
export function walshHadamard(values: Float64Array): Float64Array {
  const d = values.length;
  for (let h = 1; h < d; h *= 2) {
    for (let i = 0; i < d; i += 2 * h) {
      for (let j = i; j < i + h; j++) {
        const x = values[j];
        const y = values[j + h];
        values[j] = x + y;
        values[j + h] = x - y;
      }
    }
  }
  return values;
}

/** H·D·pad(x)/√d, a new vector of length `signs.length`. */
export function rotate(x: ArrayLike<number>, signs: Int8Array): Float64Array {
  const d = signs.length;
  if (x.length > d) throw new DpConfigError(`rotate: the vector has ${x.length} values, more than the rotation's ${d}`, { at: 'rotate', field: 'x' });
  const y = new Float64Array(d);
  for (let i = 0; i < x.length; i++) y[i] = x[i] * signs[i];
  walshHadamard(y);
  const norm = 1 / Math.sqrt(d);
  for (let i = 0; i < d; i++) y[i] *= norm;
  return y;
}

/** D·H·y/√d cut to its first `length` values: the inverse of rotate. */
export function unrotate(y: ArrayLike<number>, signs: Int8Array, length: number): Float64Array {
  const d = signs.length;
  if (y.length !== d) throw new DpConfigError(`unrotate: the vector has ${y.length} values, the rotation ${d}`, { at: 'unrotate', field: 'y' });
  const x = Float64Array.from(y);
  walshHadamard(x);
  const norm = 1 / Math.sqrt(d);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = x[i] * norm * signs[i];
  return out;
}
