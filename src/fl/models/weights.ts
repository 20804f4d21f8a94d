/**
 * Weights as plain data: one Float32Array per parameter, in the model's order.
 *
 * This is what crosses messages and what strategies aggregate. Arrays sent in a
 * message are shared by reference with the receiver (the simulator does not copy),
 * so code here never mutates its inputs: every function returns new arrays.
 */
import { sha256Hex } from '../../runtime/canonical.js';
import { FlConfigError } from '../errors.js';

export type Weights = Float32Array[];

/** A deep copy. */
export function copyWeights(weights: readonly Float32Array[]): Weights {
  return weights.map((w) => new Float32Array(w));
}

/** Total number of scalars. */
export function weightsLength(weights: readonly Float32Array[]): number {
  let n = 0;
  for (const w of weights) n += w.length;
  return n;
}

/** Bytes of the raw arrays (4 per float32). */
export function weightsByteLength(weights: readonly Float32Array[]): number {
  let n = 0;
  for (const w of weights) n += w.byteLength;
  return n;
}

/**
 * sha256 (hex) of the weights' bytes, arrays concatenated in order, each prefixed by
 * its length so that [a, bc] and [ab, c] differ. Two runs have the same final model
 * exactly when these digests are equal.
 */
export function weightsSha256(weights: readonly Float32Array[]): string {
  const total = weights.reduce((n, w) => n + 4 + w.byteLength, 0);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const w of weights) {
    view.setUint32(at, w.length, true);
    at += 4;
    bytes.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength), at);
    at += w.byteLength;
  }
  return sha256Hex(bytes);
}

/**
 * Throws unless `b` has exactly the layout of `a` (same number of arrays, same lengths): an
 * FlConfigError naming `where`, since the caller passed weights of another model. (Callers
 * that check a message's weights catch it and refuse the message.)
 */
export function assertSameLayout(a: readonly Float32Array[], b: readonly Float32Array[], where: string): void {
  if (a.length !== b.length) {
    throw new FlConfigError(`${where}: expected ${a.length} weight arrays, got ${b.length}; both sides must use the same model spec`, { at: where, field: 'weights' });
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i].length !== b[i].length) {
      throw new FlConfigError(`${where}: weight array ${i} has ${b[i].length} values, expected ${a[i].length}; both sides must use the same model spec`, { at: where, field: 'weights', index: i });
    }
  }
}

/** Euclidean distance ‖a − b‖ over all parameters (float64 accumulation). */
export function l2Distance(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  assertSameLayout(a, b, 'l2Distance');
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    for (let j = 0; j < x.length; j++) {
      const d = x[j] - y[j];
      sum += d * d;
    }
  }
  return Math.sqrt(sum);
}

/** True when every value is a finite number (no NaN or ±Infinity). */
export function allFinite(weights: readonly Float32Array[]): boolean {
  for (const w of weights) if (firstNonFinite(w) >= 0) return false;
  return true;
}

/**
 * The index of the first NaN or ±Infinity in `values`, or -1. An indexed loop on purpose:
 * `findIndex` or `for…of` over a float array boxes every value it reads — 75 MB of garbage
 * for ten clients' 2NN data, 4 MB for one aggregate of the 2NN — which the garbage collector
 * then spends the simulation's thread on.
 */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let j = 0; j < values.length; j++) if (!Number.isFinite(values[j])) return j;
  return -1;
}
