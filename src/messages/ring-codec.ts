/**
 * Ring tensors on the wire: integers mod Q (additive shares, fixed-precision values) as
 * 64-bit words.
 *
 * tfjs has no int64 dtype, so a share vector is a BigUint64Array, and a message carries
 * it as `{values, shape, field}` (`field` as a decimal string: JSON has no bigints). The
 * frame (wire.ts) treats a BigUint64Array like a tensor: `null` in the JSON, a slot with
 * dtype `uint64`, and its raw bytes after the JSON — 8 bytes per element, in the host's
 * byte order as tensors are — so byte counts and digests cover the words themselves.
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { encodeTensor, isTensor, tensorDataBytes } from './tensor-codec.js';

/** What travels after a frame's JSON: tensors and ring words. */
export type WireBinary = tf.Tensor | BigUint64Array;

/** The slot dtype of ring words in a frame's tensor list. */
export const RING_WORDS_DTYPE = 'uint64';

export function isRingWords(value: unknown): value is BigUint64Array {
  return value instanceof BigUint64Array;
}

/** Bytes a binary value takes on the wire. */
export function binaryDataBytes(value: WireBinary): number {
  return isRingWords(value) ? value.byteLength : tensorDataBytes(value);
}

/** A copy of the value's wire bytes (the caller may keep it). */
export function encodeBinary(value: WireBinary): Uint8Array {
  if (isRingWords(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
  return encodeTensor(value).data;
}

/** Ring words from a frame's bytes; `shape` must be the one-dimensional [length] the slot names. */
export function decodeRingWords(data: Uint8Array, shape: readonly number[]): BigUint64Array {
  if (shape.length !== 1 || data.byteLength !== 8 * shape[0]) {
    throw new TypeError(`Malformed ring words on the wire: shape [${shape}] needs ${8 * (shape[0] ?? 0)} bytes in one dimension, got ${data.byteLength}.`);
  }
  // Copy into a fresh, aligned buffer: the frame's bytes may sit at any offset.
  return new BigUint64Array(data.slice().buffer);
}

/** Frees what a binary value holds (tensors only: words are plain memory). */
export function disposeBinary(value: WireBinary): void {
  if (isTensor(value)) value.dispose();
}

/** A ring tensor in a payload. */
export const RingWireSchema = z.strictObject({
  values: z.custom<BigUint64Array>((v) => isRingWords(v), { message: 'a BigUint64Array of ring elements' }),
  shape: z.array(z.number().int().nonnegative()).max(16),
  /** The modulus Q, in decimal; every value is in [0, Q), and Q ≤ 2^64. */
  field: z.string().regex(/^[1-9][0-9]{0,19}$/, 'a modulus in decimal'),
});
export type RingWire = z.infer<typeof RingWireSchema>;
