/**
 * The tensor codec: how a tfjs tensor crosses a (would-be) wire.
 *
 * On the wire a tensor is `{dtype, shape, data}` where `data` is the bytes of its
 * typed array (little-endian, as the host lays them out). In the default mode
 * tensors pass by reference and only their would-be size is counted; strict mode
 * encodes and decodes them for real (see wire.ts).
 *
 * Ownership: a tensor inside a message payload belongs to the message until it is
 * delivered, then to the receiver (which stores it, hands it on, or disposes it). A
 * fault plan may deliver one message twice, so the receiver first *claims* the
 * delivery (`claimDelivery`); a duplicate is recognised and ignored, never stored
 * twice or disposed under the first copy's new owner.
 */
import * as tf from '@tensorflow/tfjs';
import { registerCanonicalEncoder } from '../runtime/index.js';
// The log header names the backend tensors compute on; its one name source is registered there.
import '../runtime/backend.js';

export type WireDType = 'float32' | 'int32' | 'bool' | 'string';

/** A tensor as it travels: dtype, shape and the raw bytes of its values. */
export interface EncodedTensor {
  dtype: WireDType;
  shape: number[];
  data: Uint8Array;
  /** Present when the tensor was a tf.Variable: the receiver rebuilds a variable. */
  variable?: { trainable: boolean };
}

const BYTES_PER_ELEMENT: Record<Exclude<WireDType, 'string'>, number> = { float32: 4, int32: 4, bool: 1 };

export function isTensor(value: unknown): value is tf.Tensor {
  return value instanceof tf.Tensor;
}

export function isVariable(value: unknown): value is tf.Variable {
  return value instanceof tf.Variable;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function assertWireDType(t: tf.Tensor): WireDType {
  if (t.dtype === 'complex64') {
    throw new TypeError(`A complex64 tensor (shape [${t.shape}]) cannot be sent: fedsim's wire format carries float32, int32, bool and string tensors. Split it into real and imaginary parts (tf.real / tf.imag) first.`);
  }
  return t.dtype as WireDType;
}

/** Bytes the tensor's values take on the wire (strings: a JSON array of them). */
export function tensorDataBytes(t: tf.Tensor): number {
  const dtype = assertWireDType(t);
  if (dtype === 'string') return utf8.encode(JSON.stringify(t.dataSync())).byteLength;
  return t.size * BYTES_PER_ELEMENT[dtype];
}

export function encodeTensor(t: tf.Tensor): EncodedTensor {
  const dtype = assertWireDType(t);
  const values = t.dataSync();
  let data: Uint8Array;
  if (dtype === 'string') {
    data = utf8.encode(JSON.stringify(values));
  } else {
    const view = values as Float32Array | Int32Array | Uint8Array;
    // Copy: the backend may reuse or free its buffer once the tensor is disposed.
    data = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
  }
  const encoded: EncodedTensor = { dtype, shape: [...t.shape], data };
  if (isVariable(t)) encoded.variable = { trainable: t.trainable };
  return encoded;
}

/** Rebuilds a tensor (or variable); throws a TypeError naming the inconsistency for malformed input. */
export function decodeTensor(encoded: EncodedTensor): tf.Tensor {
  const { dtype, shape, data } = encoded;
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new TypeError(`Malformed tensor on the wire: shape [${shape}] must hold non-negative integers.`);
  const size = shape.reduce((a, b) => a * b, 1);
  let tensor: tf.Tensor;
  if (dtype === 'string') {
    const values: unknown = JSON.parse(utf8Decoder.decode(data));
    if (!Array.isArray(values) || values.length !== size || !values.every((v) => typeof v === 'string')) {
      throw new TypeError(`Malformed string tensor on the wire: expected ${size} strings for shape [${shape}].`);
    }
    tensor = tf.tensor(values as string[], shape, 'string');
  } else {
    const width = BYTES_PER_ELEMENT[dtype];
    if (width === undefined) throw new TypeError(`Malformed tensor on the wire: unknown dtype '${dtype}'.`);
    if (data.byteLength !== size * width) {
      throw new TypeError(`Malformed tensor on the wire: shape [${shape}] of ${dtype} needs ${size * width} bytes, got ${data.byteLength}.`);
    }
    // Copy into a fresh, aligned buffer: the frame's bytes may sit at any offset.
    const bytes = data.slice();
    const values = dtype === 'float32' ? new Float32Array(bytes.buffer) : dtype === 'int32' ? new Int32Array(bytes.buffer) : bytes;
    tensor = tf.tensor(values, shape, dtype);
  }
  if (!encoded.variable) return tensor;
  const variable = tf.variable(tensor, encoded.variable.trainable);
  tensor.dispose(); // the variable holds its own reference to the data
  return variable;
}

// ── ownership of tensors carried by messages ──────────────────────────────────

/** The message id each payload object was first delivered under (a WeakMap: nothing to clean up). */
const deliveries = new WeakMap<object, string>();

/**
 * Claims a delivered message for its receiver. False when the same message (same id,
 * same payload object) was claimed before: a fault plan's duplicate, to be ignored —
 * its tensors were already stored or handed on by the first delivery.
 */
export function claimDelivery(envelope: { readonly id: string; readonly payload: unknown }): boolean {
  const { payload } = envelope;
  if (typeof payload !== 'object' || payload === null) return true;
  if (deliveries.get(payload) === envelope.id) return false;
  deliveries.set(payload, envelope.id);
  return true;
}

/** Every tensor inside a payload (depth-limited: payloads can be arbitrary input). */
export function tensorsIn(value: unknown, out: tf.Tensor[] = [], depth = 0): tf.Tensor[] {
  if (value === null || typeof value !== 'object' || depth > 32) return out;
  if (isTensor(value)) {
    out.push(value);
    return out;
  }
  if (ArrayBuffer.isView(value)) return out;
  const children = Array.isArray(value) ? value : Object.values(value as Record<string, unknown>);
  for (const child of children) tensorsIn(child, out, depth + 1);
  return out;
}

/** Disposes the tensors of a (claimed) payload its receiver does not keep: the receiver owns them. */
export function disposeTensorsIn(payload: unknown): void {
  for (const t of tensorsIn(payload)) t.dispose();
}

// ── the log's view of tensors ─────────────────────────────────────────────────

// Digests must not depend on tensor identity, only on dtype, shape and bytes.
registerCanonicalEncoder(isTensor, (t: tf.Tensor) => ({
  $tensor: t.dtype,
  shape: t.shape,
  data: t.dtype === 'string' ? (t.dataSync() as unknown as string[]) : t.dataSync(),
  ...(isVariable(t) ? { variable: t.trainable } : {}),
}));

