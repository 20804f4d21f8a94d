/**
 * One NATS message body of the distributed training protocol (protocol.ts): a JSON header
 * plus the typed arrays it refers to, as raw little-endian bytes — so a client's data set or
 * a model's weights cross as themselves, not as JSON numbers, and come back bit for bit.
 *
 *   u32 LE   header length h
 *   h bytes  header, UTF-8 JSON: { value, blobs: [{ kind, offset, length }] }
 *   …        blob bytes, each at an offset that is a multiple of 8 from the body's start
 *
 * In `value`, a typed array is `{ "$blob": i }` and a number JSON cannot write exactly
 * (NaN, ±Infinity, -0) is `{ "$num": "NaN" }`, so a diverged loss or a -0 weight survives.
 * Objects of the message's own with a "$blob" or "$num" key are refused when encoding.
 *
 * Decoding trusts nothing: a body that is short, whose header is not JSON, whose blobs lie
 * outside it or have an unknown kind is a MalformedMessageError naming what is wrong. What
 * the decoded value must look like is the protocol's zod schemas' business.
 */
import { MalformedMessageError } from '../errors.js';

const KINDS = { Float32Array, Int32Array, Float64Array, Uint8Array } as const;
type Kind = keyof typeof KINDS;
type Blob = Float32Array | Int32Array | Float64Array | Uint8Array;

const SPECIAL_NUMBERS: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY, '-0': -0 };

const kindOf = (value: object): Kind | undefined => {
  for (const kind of Object.keys(KINDS) as Kind[]) if (value instanceof KINDS[kind]) return kind;
  return undefined;
};

const align8 = (n: number) => Math.ceil(n / 8) * 8;

export function encodeFrame(value: unknown): Uint8Array {
  const blobs: Blob[] = [];
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'number') {
      if (Number.isNaN(v)) return { $num: 'NaN' };
      if (v === Number.POSITIVE_INFINITY) return { $num: 'Infinity' };
      if (v === Number.NEGATIVE_INFINITY) return { $num: '-Infinity' };
      if (Object.is(v, -0)) return { $num: '-0' };
      return v;
    }
    if (v === null || typeof v !== 'object') {
      if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') throw new MalformedMessageError(`encodeFrame: ${path} is a ${typeof v}, which a training message cannot carry`);
      return v;
    }
    if (ArrayBuffer.isView(v)) {
      if (kindOf(v) === undefined) throw new MalformedMessageError(`encodeFrame: ${path} is a ${v.constructor.name}; a training message carries ${Object.keys(KINDS).join(', ')}`);
      blobs.push(v as Blob);
      return { $blob: blobs.length - 1 };
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, `${path}[${i}]`));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(v)) {
      if (key === '$blob' || key === '$num') throw new MalformedMessageError(`encodeFrame: ${path} has a key "${key}", which the frame format reserves`);
      if (item !== undefined) out[key] = walk(item, `${path}.${key}`);
    }
    return out;
  };
  const encoded = walk(value, 'message');
  let offset = 0;
  const layout = blobs.map((blob) => {
    const entry = { kind: kindOf(blob)!, offset, length: blob.length };
    offset = align8(offset + blob.byteLength);
    return entry;
  });
  const header = new TextEncoder().encode(JSON.stringify({ value: encoded, blobs: layout }));
  const start = align8(4 + header.length);
  const body = new Uint8Array(start + offset);
  new DataView(body.buffer).setUint32(0, header.length, true);
  body.set(header, 4);
  blobs.forEach((blob, i) => body.set(new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength), start + layout[i].offset));
  return body;
}

/** The value encodeFrame was given; `what` names the message in errors (e.g. 'a task from the bridge'). */
export function decodeFrame(body: Uint8Array, what: string): unknown {
  const refuse = (problem: string): never => {
    throw new MalformedMessageError(`${what}: ${problem}; the sender speaks another protocol version or the message was damaged`);
  };
  if (body.length < 4) refuse(`the body has ${body.length} bytes, fewer than a frame's 4-byte header length`);
  const headerLength = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0, true);
  if (4 + headerLength > body.length) refuse(`the header claims ${headerLength} bytes, the body has ${body.length - 4} after the length`);
  let header: { value?: unknown; blobs?: unknown };
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(4, 4 + headerLength)));
  } catch (error) {
    return refuse(`the header is not UTF-8 JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || !Array.isArray(header.blobs)) return refuse('the header has no blob table');
  const start = align8(4 + headerLength);
  const blobs = header.blobs.map((entry: unknown, i: number): Blob => {
    const { kind, offset, length } = (entry ?? {}) as { kind?: unknown; offset?: unknown; length?: unknown };
    if (typeof kind !== 'string' || !(kind in KINDS)) return refuse(`blob ${i} has kind ${JSON.stringify(kind)}, not one of ${Object.keys(KINDS).join(', ')}`);
    const Type = KINDS[kind as Kind];
    if (!Number.isInteger(offset) || !Number.isInteger(length) || (offset as number) < 0 || (length as number) < 0) return refuse(`blob ${i} has offset ${JSON.stringify(offset)} and length ${JSON.stringify(length)}, not whole numbers ≥ 0`);
    const from = start + (offset as number);
    const bytes = (length as number) * Type.BYTES_PER_ELEMENT;
    if (from + bytes > body.length) return refuse(`blob ${i} (${bytes} bytes at ${from}) lies past the body's end (${body.length} bytes)`);
    // A copy: the body's buffer may be shared with other messages, and a blob must be aligned for its kind.
    const out = new Type(length as number);
    new Uint8Array(out.buffer).set(body.subarray(from, from + bytes));
    return out;
  });
  const used = new Set<number>();
  const restore = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map(restore);
    const record = v as Record<string, unknown>;
    if ('$blob' in record) {
      const i = record.$blob;
      if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= blobs.length || used.has(i as number)) return refuse(`a reference to blob ${JSON.stringify(i)}, which is not in the blob table or is referred to twice`);
      used.add(i as number);
      return blobs[i as number];
    }
    if ('$num' in record) {
      const n = SPECIAL_NUMBERS[record.$num as string];
      if (n === undefined) return refuse(`a special number ${JSON.stringify(record.$num)}, not one of NaN, Infinity, -Infinity, -0`);
      return n;
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(record)) {
      if (key === '__proto__') return refuse('a "__proto__" key');
      out[key] = restore(item);
    }
    return out;
  };
  return restore(header.value);
}
