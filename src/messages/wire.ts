/**
 * The wire format of a message, and the two ways fedsim uses it.
 *
 * Frame: `u32 n | n bytes of UTF-8 JSON | per tensor: u32 m | m bytes`. The JSON is
 * `{type, payload, tensors?}`: each tensor's place in the payload holds `null`, and
 * `tensors` lists, in order, where each one goes (`path`), its dtype and shape; its
 * bytes follow the JSON in the same order. Listing positions beside the payload
 * (rather than marking them inside it) keeps any JSON payload unambiguous.
 *
 * - Default mode: payloads pass by reference; `wireSize` says how many bytes the
 *   frame would have, without copying tensor data, so link metrics stay honest.
 * - Strict mode: `prepareOutgoing` really encodes and decodes every payload, which
 *   proves it can cross a wire (no functions, no shared objects, no disposed tensors).
 *
 * Ring words (BigUint64Array: additive shares, see ring-codec.ts) travel like tensors:
 * a slot of dtype `uint64` and their raw bytes.
 */
import { createHash } from 'node:crypto';
import { frameJsonByteLength } from './json-size.js';
import { decodeTensor, type EncodedTensor, isTensor, isVariable } from './tensor-codec.js';
import { binaryDataBytes, decodeRingWords, disposeBinary, encodeBinary, isRingWords, RING_WORDS_DTYPE, type WireBinary } from './ring-codec.js';
import type { WireCodec } from '../runtime/transport/wire-codec.js';
import { disposeTensorsIn } from './tensor-codec.js';

export class WireFormatError extends Error {
  override name = 'WireFormatError';
}

type Path = Array<string | number>;

interface TensorSlot {
  path: Path;
  dtype: string;
  shape: number[];
  variable?: { trainable: boolean };
}

/** Message types whose payloads never carry tensors: sized without serialising, encoded with one plain JSON.stringify. */
const TENSOR_FREE_TYPES: ReadonlySet<string> = new Set(['command', 'delete', 'objectRequest', 'getShape', 'search', 'move', 'remoteGet', 'backward', 'clear', 'setMeta', 'runPlan', 'runPlanLoop', 'error']);

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const FRAME_PREFIX = 4;

/**
 * The slot dtype of a raw Float32Array (an FL model's weights, src/fl/models/weights.ts) in a
 * frame that really crosses a wire. Only encodeMessage lists them: sizes and digests of
 * in-process messages (wireSize, prepareOutgoing) keep counting them as before, so the logs
 * of existing runs keep their bytes.
 */
const FLOAT32_ARRAY_DTYPE = 'float32-array';

/** What a wire frame carries after its JSON: tensors, ring words and (encodeMessage only) raw float arrays. */
type FrameBinary = WireBinary | Float32Array;

/** The frame's JSON text; the tensors found are appended, in order, to `tensors` (raw float arrays too when `floatArrays`). */
function frameJson(type: string, payload: unknown, tensors: FrameBinary[], floatArrays = false): string {
  if (TENSOR_FREE_TYPES.has(type)) return JSON.stringify({ type, payload });
  const slots: TensorSlot[] = [];
  // JSON.stringify walks depth-first and calls the replacer with the holder as `this`:
  // a stack of (object, key it was reached by) gives each tensor's path without a map.
  const objects: object[] = [];
  const keys: Array<string | number> = [];
  const json = JSON.stringify({ type, payload }, function (this: unknown, key: string, value: unknown) {
    if (typeof value !== 'object' || value === null) return value;
    while (objects.length > 0 && objects[objects.length - 1] !== this) {
      objects.pop();
      keys.pop();
    }
    const step = Array.isArray(this) ? Number(key) : key;
    if (isRingWords(value)) {
      slots.push({ path: [...keys.slice(1), step], dtype: RING_WORDS_DTYPE, shape: [value.length] });
      tensors.push(value);
      return null;
    }
    if (floatArrays && value instanceof Float32Array) {
      slots.push({ path: [...keys.slice(1), step], dtype: FLOAT32_ARRAY_DTYPE, shape: [value.length] });
      tensors.push(value);
      return null;
    }
    if (isTensor(value)) {
      const slot: TensorSlot = { path: [...keys.slice(1), step], dtype: value.dtype, shape: value.shape };
      if (isVariable(value)) slot.variable = { trainable: value.trainable };
      slots.push(slot);
      tensors.push(value);
      return null;
    }
    objects.push(value);
    keys.push(step);
    return value;
  });
  if (slots.length === 0) return json;
  // Same object, plus the tensor list (re-serialising `frame` would meet the tensors again).
  return `${json.slice(0, -1)},"tensors":${JSON.stringify(slots)}}`;
}


function measure(type: string, payload: unknown): { bytes: number; tensors: number } {
  if (TENSOR_FREE_TYPES.has(type)) return { bytes: FRAME_PREFIX + frameJsonByteLength(type, payload), tensors: 0 };
  const tensors: WireBinary[] = [];
  const json = frameJson(type, payload, tensors);
  let bytes = FRAME_PREFIX + Buffer.byteLength(json, 'utf8');
  for (const t of tensors) bytes += FRAME_PREFIX + binaryDataBytes(t);
  return { bytes, tensors: tensors.length };
}

/** Bytes of a tensor's values as they go on the wire (without copying, for numeric dtypes). */
function tensorBytes(t: WireBinary): Uint8Array {
  if (isRingWords(t)) return new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
  if (t.dtype === 'string') return utf8.encode(JSON.stringify(t.dataSync()));
  const values = t.dataSync() as Float32Array | Int32Array | Uint8Array;
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/**
 * The log digest of a tensor-carrying message: sha256 of its frame's JSON and tensor
 * bytes (16 hex digits, like the runtime's digests). One hash pass, computed at send
 * time, because the tensors may be disposed before the log is written.
 */
function frameDigest(json: string, tensors: readonly WireBinary[]): string {
  const hash = createHash('sha256').update(json);
  for (const t of tensors) hash.update(tensorBytes(t));
  return hash.digest('hex').slice(0, 16);
}

/** Bytes the encoded frame would take, without copying tensor data. */
export function wireSize(type: string, payload: unknown): number {
  return measure(type, payload).bytes;
}

export function encodeMessage(type: string, payload: unknown): Uint8Array {
  const tensors: FrameBinary[] = [];
  return encodeFrame(frameJson(type, payload, tensors, true), tensors);
}

function encodeFrame(text: string, tensors: readonly FrameBinary[]): Uint8Array {
  const json = utf8.encode(text);
  const blobs = tensors.map((t) => (t instanceof Float32Array ? new Uint8Array(t.buffer, t.byteOffset, t.byteLength).slice() : encodeBinary(t)));
  const total = FRAME_PREFIX + json.byteLength + blobs.reduce((n, b) => n + FRAME_PREFIX + b.byteLength, 0);
  const frame = new Uint8Array(total);
  const view = new DataView(frame.buffer);
  view.setUint32(0, json.byteLength, true);
  frame.set(json, FRAME_PREFIX);
  let at = FRAME_PREFIX + json.byteLength;
  for (const blob of blobs) {
    view.setUint32(at, blob.byteLength, true);
    frame.set(blob, at + FRAME_PREFIX);
    at += FRAME_PREFIX + blob.byteLength;
  }
  return frame;
}

function slotOf(value: unknown, index: number): TensorSlot {
  const slot = value as TensorSlot;
  if (typeof slot !== 'object' || slot === null || !Array.isArray(slot.path) || !Array.isArray(slot.shape) || typeof slot.dtype !== 'string') {
    throw new WireFormatError(`Tensor entry ${index} of the frame is not {path, dtype, shape}.`);
  }
  return slot;
}

/** A raw Float32Array from a frame's bytes (copied into an aligned buffer of its own). */
function decodeFloatArray(data: Uint8Array, shape: readonly number[]): Float32Array {
  if (shape.length !== 1 || data.byteLength !== 4 * shape[0]) {
    throw new WireFormatError(`Malformed float array on the wire: shape [${shape}] needs ${4 * (shape[0] ?? 0)} bytes in one dimension, got ${data.byteLength}.`);
  }
  return new Float32Array(data.slice().buffer);
}

/** Puts `tensor` where `path` says inside `root`, which must hold null there. */
function place(root: Record<string, unknown>, path: Path, tensor: FrameBinary, index: number): void {
  let holder: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    holder = typeof holder === 'object' && holder !== null ? (holder as Record<string | number, unknown>)[path[i]] : undefined;
  }
  const last = path[path.length - 1];
  if (path.length === 0 || typeof holder !== 'object' || holder === null || (holder as Record<string | number, unknown>)[last] !== null || !Object.hasOwn(holder, last)) {
    throw new WireFormatError(`Tensor ${index}'s path ${JSON.stringify(path)} does not lead to a null slot in the payload.`);
  }
  (holder as Record<string | number, unknown>)[last] = tensor;
}

/** Decodes a frame; tensors come back as new tfjs tensors owned by the caller. */
export function decodeMessage(frame: Uint8Array): { type: string; payload: unknown } {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.byteLength < FRAME_PREFIX) throw new WireFormatError(`Frame of ${frame.byteLength} bytes is too short to hold its header length.`);
  const jsonLength = view.getUint32(0, true);
  if (FRAME_PREFIX + jsonLength > frame.byteLength) throw new WireFormatError(`Frame header claims ${jsonLength} bytes of JSON but the frame has ${frame.byteLength - FRAME_PREFIX}.`);
  const blobs: Uint8Array[] = [];
  let at = FRAME_PREFIX + jsonLength;
  while (at < frame.byteLength) {
    if (at + FRAME_PREFIX > frame.byteLength) throw new WireFormatError(`Truncated tensor length at byte ${at}.`);
    const length = view.getUint32(at, true);
    if (at + FRAME_PREFIX + length > frame.byteLength) throw new WireFormatError(`Tensor ${blobs.length} claims ${length} bytes past the end of the frame.`);
    blobs.push(frame.subarray(at + FRAME_PREFIX, at + FRAME_PREFIX + length));
    at += FRAME_PREFIX + length;
  }
  let parsed: { type?: unknown; payload?: unknown; tensors?: unknown };
  try {
    parsed = JSON.parse(utf8Decoder.decode(frame.subarray(FRAME_PREFIX, FRAME_PREFIX + jsonLength)));
  } catch (error) {
    throw new WireFormatError(`Frame JSON is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || typeof parsed.type !== 'string') throw new WireFormatError('Frame JSON has no string "type".');
  const slots = parsed.tensors ?? [];
  if (!Array.isArray(slots) || slots.length !== blobs.length) {
    throw new WireFormatError(`Frame lists ${Array.isArray(slots) ? slots.length : 'no array of'} tensor(s) but carries ${blobs.length} tensor blob(s).`);
  }
  const made: FrameBinary[] = [];
  try {
    slots.forEach((entry, i) => {
      const slot = slotOf(entry, i);
      const tensor =
        slot.dtype === RING_WORDS_DTYPE
          ? decodeRingWords(blobs[i], slot.shape)
          : slot.dtype === FLOAT32_ARRAY_DTYPE
            ? decodeFloatArray(blobs[i], slot.shape)
            : decodeTensor({ dtype: slot.dtype, shape: slot.shape, data: blobs[i], variable: slot.variable } as EncodedTensor);
      made.push(tensor);
      place(parsed as Record<string, unknown>, slot.path, tensor, i);
    });
  } catch (error) {
    for (const t of made) if (!(t instanceof Float32Array)) disposeBinary(t);
    if (error instanceof WireFormatError) throw error;
    throw new WireFormatError(`Frame payload could not be decoded: ${(error as Error).message}`);
  }
  return { type: parsed.type, payload: parsed.payload ?? null };
}

/** What a sender hands the runtime for one message. */
export interface PreparedMessage<P> {
  payload: P;
  /** Would-be wire size of the frame. */
  bytes: number;
  /** Set when the payload carries tensors: computed now, before anyone can dispose them. */
  digest?: string;
}

/**
 * Makes a payload ready to send. The tensors in it belong to the message. In strict
 * mode the payload is encoded and decoded (the originals are disposed and the copy is
 * sent); otherwise only its size is computed.
 */
export function prepareOutgoing<P>(type: string, payload: P, strict: boolean): PreparedMessage<P> {
  if (!strict) {
    if (TENSOR_FREE_TYPES.has(type)) return { payload, bytes: FRAME_PREFIX + frameJsonByteLength(type, payload) };
    const tensors: WireBinary[] = [];
    const json = frameJson(type, payload, tensors);
    let bytes = FRAME_PREFIX + Buffer.byteLength(json, 'utf8');
    for (const t of tensors) bytes += FRAME_PREFIX + binaryDataBytes(t);
    return tensors.length === 0 ? { payload, bytes } : { payload, bytes, digest: frameDigest(json, tensors) };
  }
  const originals: WireBinary[] = [];
  let json: string;
  let frame: Uint8Array;
  try {
    json = frameJson(type, payload, originals);
    frame = encodeFrame(json, originals);
  } catch (error) {
    throw new WireFormatError(`A '${type}' payload cannot cross a wire (strict mode): ${(error as Error).message.split('\n')[0]}. Payloads hold JSON values and tensors only.`);
  }
  const digest = originals.length === 0 ? undefined : frameDigest(json, originals);
  const decoded = decodeMessage(frame).payload as P;
  for (const t of originals) disposeBinary(t);
  return digest === undefined ? { payload: decoded, bytes: frame.byteLength } : { payload: decoded, bytes: frame.byteLength, digest };
}

/** This wire format as a live transport's codec (src/runtime/transport/wire-codec.ts). */
export const wireCodec: WireCodec = {
  encode: encodeMessage,
  decode: decodeMessage,
  release: disposeTensorsIn,
};
