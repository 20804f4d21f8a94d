/**
 * Canonical encoding and digests of payloads.
 *
 * The event log names each payload by a digest so that two runs can be compared
 * without storing tensors. The digest must not depend on object key order, on
 * whether a value is a Float32Array or a tensor holding the same bytes in another
 * process, or on anything but the value itself. Higher layers (the tensor codec)
 * register encoders for their own types, because this layer knows nothing of tfjs.
 */
import * as crypto from 'node:crypto';

type Encoder = { test: (value: object) => boolean; encode: (value: any) => unknown };
const encoders: Encoder[] = [];

/** Teaches the canonical encoder a type it cannot see from here (e.g. tfjs tensors). */
export function registerCanonicalEncoder(test: (value: object) => boolean, encode: (value: any) => unknown): void {
  encoders.push({ test, encode });
}

// Node's one-shot `crypto.hash` (20.12+) is about 3x faster than createHash for the small
// payloads of control messages, which a streamed log digests one per message.
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }).hash;

/** Hex sha256 of raw bytes (a string is hashed as its UTF-8 encoding). */
export function sha256Hex(data: string | Uint8Array): string {
  return oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * The sha256 of arrays whose owner promised never to change them again (sealBytes). A round's
 * weights travel in every client's fit, and each client's trained weights were hashed already in the
 * worker thread that trained them: with their digests here, canonicalJson writes those arrays
 * without hashing their bytes again (the event log digests every payload).
 */
const sealedDigests = new WeakMap<ArrayBufferView, string>();

/**
 * Declares `view` immutable from now on, with `digest` the sha256 of its bytes (computed elsewhere,
 * e.g. in the worker thread that made the array). A digest that is not of those bytes, or a change to
 * the array after this, would put a wrong digest in the event log: seal only arrays nothing writes to
 * (a Held's value, a message's payload once sent), and only with a digest of exactly their bytes.
 */
export function sealBytes(view: ArrayBufferView, digest: string): void {
  sealedDigests.set(view, digest);
}

/** The sha256 of `view`'s bytes, sealing it (see sealBytes: call it only on an array nothing writes to again). */
export function sealedBytesDigest(view: ArrayBufferView): string {
  let digest = sealedDigests.get(view);
  if (digest === undefined) {
    digest = bytesDigest(view);
    sealedDigests.set(view, digest);
  }
  return digest;
}

/** The hex sha256 of `view`'s bytes (its own range of its buffer). */
export function bytesDigest(view: ArrayBufferView): string {
  return sha256Hex(bytesOf(view));
}

function encodeNumber(n: number): string {
  if (Number.isFinite(n)) return Object.is(n, -0) ? '-0' : JSON.stringify(n);
  return JSON.stringify(String(n)); // NaN, Infinity: JSON has no literal for them
}

/**
 * A JSON text in which equal values are equal strings: object keys sorted,
 * `undefined` fields left out, typed arrays replaced by their dtype, length and the
 * sha256 of their bytes.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return encodeNumber(value);
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return `{"$bigint":"${value.toString()}"}`;
    case 'undefined':
      return 'null';
    case 'function':
    case 'symbol':
      throw new TypeError(`canonicalJson: a ${typeof value} cannot be part of a message payload`);
  }
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) {
    const kind = value.constructor.name;
    const length = (value as unknown as { length?: number }).length ?? value.byteLength;
    return `{"$bytes":"${sealedDigests.get(value) ?? bytesDigest(value)}","kind":"${kind}","length":${length}}`;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value instanceof Map) {
    return `{"$map":[${[...value.entries()].map(([k, v]) => `[${canonicalJson(k)},${canonicalJson(v)}]`).join(',')}]}`;
  }
  if (value instanceof Set) return `{"$set":[${[...value].map(canonicalJson).join(',')}]}`;
  for (const encoder of encoders) {
    if (encoder.test(value as object)) return canonicalJson(encoder.encode(value));
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
}

/** Digest length kept in the log: 64 bits of sha256 is ample to detect divergence. */
const DIGEST_HEX_CHARS = 16;

/** The stable digest of a payload, as written to the event log. */
export function digestOf(value: unknown): string {
  return sha256Hex(canonicalJson(value)).slice(0, DIGEST_HEX_CHARS);
}
