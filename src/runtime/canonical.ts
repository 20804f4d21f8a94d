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
    return `{"$bytes":"${sha256Hex(bytesOf(value))}","kind":"${kind}","length":${length}}`;
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
