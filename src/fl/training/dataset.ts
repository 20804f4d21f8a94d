/**
 * A local data set as plain arrays: features row-major, and labels (class indices)
 * or regression targets. This is what a client actor holds and never sends.
 */
import * as tf from '@tensorflow/tfjs';
import { FlConfigError, IncompatibleModelError } from '../errors.js';
import type { Model } from '../models/model.js';
import type { LossName } from '../models/spec.js';

export interface Dataset {
  /** n × inputSize features, row-major. */
  x: Float32Array;
  /** n class indices (cross-entropy losses), or n × outputs targets (MSE), row-major. */
  y: Int32Array | Float32Array;
}

/**
 * Number of samples of `data` for `model`. Features that are not a Float32Array are an
 * FlConfigError; arrays that do not fit the model's inputs, outputs or loss are an
 * IncompatibleModelError. Both name `where` (in the message and as where.at).
 */
export function datasetSize(data: Dataset, model: Pick<Model, 'inputSize' | 'outputSize'>, loss: LossName, where: string): number {
  const { inputSize, outputSize } = model;
  const kindOf = (v: unknown) => (v as object | null | undefined)?.constructor?.name ?? typeof v;
  if (!(data.x instanceof Float32Array)) {
    throw new FlConfigError(`${where}: features must be a Float32Array (n × ${inputSize}, row-major), got ${kindOf(data.x)}; convert them with Float32Array.from(…)`, { at: where, field: 'x' });
  }
  if (data.x.length % inputSize !== 0) {
    throw new IncompatibleModelError(`${where}: ${data.x.length} feature values is not a whole number of samples of ${inputSize} features; check the model's input size`, { at: where, field: 'x' });
  }
  const n = data.x.length / inputSize;
  if (loss === 'mse') {
    if (!(data.y instanceof Float32Array) || data.y.length !== n * outputSize) {
      throw new IncompatibleModelError(`${where}: MSE needs Float32Array targets of n × outputs = ${n} × ${outputSize} values, got ${kindOf(data.y)} of ${data.y?.length}; give one target row per sample, or use a classification loss`, { at: where, field: 'y' });
    }
    return n;
  }
  if (!(data.y instanceof Int32Array) || data.y.length !== n) {
    throw new IncompatibleModelError(`${where}: ${loss} needs one Int32Array class index per sample (${n}), got ${kindOf(data.y)} of ${data.y?.length}; give one label per sample, or use loss 'mse' for regression targets`, { at: where, field: 'y' });
  }
  for (let i = 0; i < n; i++) {
    const label = data.y[i];
    if (label < 0 || label >= outputSize) {
      throw new IncompatibleModelError(`${where}: label ${label} of sample ${i} is outside 0..${outputSize - 1}; give the model at least ${label + 1} classes, or fix the label`, { at: where, field: 'y', sample: i });
    }
  }
  return n;
}

/** Targets as a [n, outputs] float tensor: one-hot rows for class labels, the targets themselves for MSE. */
export function targetTensor(data: Dataset, n: number, outputs: number, loss: LossName): tf.Tensor2D {
  if (loss === 'mse') return tf.tensor2d(data.y as Float32Array, [n, outputs], 'float32');
  return tf.tidy(() => tf.oneHot(tf.tensor1d(data.y as Int32Array, 'int32'), outputs).toFloat() as tf.Tensor2D);
}

/** Rows `start..end` of `data` (views, no copy). */
export function sliceRows(data: Dataset, start: number, end: number, inputSize: number, outputs: number, loss: LossName): Dataset {
  const perLabel = loss === 'mse' ? outputs : 1;
  return { x: data.x.subarray(start * inputSize, end * inputSize), y: data.y.subarray(start * perLabel, end * perLabel) };
}

/** Concatenates data sets (e.g. every client's test split into one central test set). */
export function concatDatasets(parts: readonly Dataset[]): Dataset {
  const xs = parts.reduce((n, p) => n + p.x.length, 0);
  const ys = parts.reduce((n, p) => n + p.y.length, 0);
  const regression = parts.length > 0 && parts[0].y instanceof Float32Array;
  const x = new Float32Array(xs);
  const y = regression ? new Float32Array(ys) : new Int32Array(ys);
  let xi = 0;
  let yi = 0;
  for (const [i, p] of parts.entries()) {
    if (p.y instanceof Float32Array !== regression) {
      throw new FlConfigError(`concatDatasets: part ${i} mixes class labels (Int32Array) and regression targets (Float32Array) with part 0; concatenate data sets of one kind`, { op: 'concatDatasets', field: 'parts', index: i });
    }
    x.set(p.x, xi);
    y.set(p.y, yi);
    xi += p.x.length;
    yi += p.y.length;
  }
  return { x, y };
}
