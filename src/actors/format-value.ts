/**
 * Printing tensors and stored objects the way the PySyft tutorials show them
 * (`tensor([1, 2, 3, 4, 5])`), here so that a worker can describe its own objects in a
 * listing (`search` with previews) and the pointer layer can print what scenarios show.
 */
import type * as tf from '@tensorflow/tfjs';
import { isTensor } from '../messages/index.js';

/** Tensors larger than this are described by dtype and shape in a listing, not printed. */
export const PREVIEW_MAX_ELEMENTS = 1000;

function formatNumber(value: number | boolean | string, dtype: string): string {
  if (typeof value === 'boolean' || dtype === 'bool') return value ? 'true' : 'false';
  if (typeof value === 'string') return JSON.stringify(value);
  // float32 values read back as doubles (2.4 → 2.4000000953674316): print the float32's shortest form.
  return dtype === 'float32' ? String(parseFloat(value.toPrecision(7))) : String(value);
}

function formatNested(value: unknown, dtype: string): string {
  if (Array.isArray(value)) return `[${value.map((v) => formatNested(v, dtype)).join(', ')}]`;
  return formatNumber(value as number, dtype);
}

/** `tensor([1, 2, 3])`, `tensor(5)`; disposed tensors say so instead of throwing. */
export function formatTensor(t: tf.Tensor): string {
  if (t.isDisposed) return 'tensor(<disposed>)';
  return `tensor(${formatNested(t.arraySync(), t.dtype)})`;
}

/** Any stored object: tensors as above, pointer records, shares, plans and failures by their own toString. */
export function formatObject(value: unknown): string {
  return isTensor(value) ? formatTensor(value) : String(value);
}

/** A stored object for a listing: printed in full when small, described by its size otherwise. */
export function previewObject(value: unknown): string {
  if (isTensor(value) && value.size > PREVIEW_MAX_ELEMENTS) return `tensor(<${value.dtype} [${value.shape}]: ${value.size} values>)`;
  const ring = value as { kind?: string; size?: number; shape?: readonly number[] };
  if (ring?.kind === 'ring' && (ring.size ?? 0) > PREVIEW_MAX_ELEMENTS) return `tensor(<ring [${ring.shape}]: ${ring.size} values>)`;
  return formatObject(value);
}
