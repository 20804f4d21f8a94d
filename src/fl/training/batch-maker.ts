/**
 * Minibatch tensors for local training, made from a client's plain arrays.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossName } from '../models/spec.js';
import type { Dataset } from './dataset.js';

/**
 * Builds minibatch tensors by copying rows in JS. (tf.gather on the cpu backend
 * costs ~40 µs per call for a 10-row batch, more than the rest of a logistic
 * regression step; a row copy costs ~1 µs.) Fresh arrays per batch, because a
 * backend may keep the array it was given as the tensor's storage.
 */
export class BatchMaker {
  constructor(
    private readonly data: Dataset,
    private readonly inputSize: number,
    private readonly outputs: number,
    private readonly loss: LossName,
  ) {}

  /** Rows order[start..end) as [x, y] (y one-hot for class labels). */
  make(order: readonly number[], start: number, end: number): [tf.Tensor2D, tf.Tensor2D] {
    const { data, inputSize: d, outputs: k } = this;
    const rows = end - start;
    const x = new Float32Array(rows * d);
    const y = new Float32Array(rows * k);
    for (let r = 0; r < rows; r++) {
      const i = order[start + r];
      x.set(data.x.subarray(i * d, i * d + d), r * d);
      if (this.loss === 'mse') y.set(data.y.subarray(i * k, i * k + k), r * k);
      else y[r * k + data.y[i]] = 1;
    }
    return [tf.tensor2d(x, [rows, d], 'float32'), tf.tensor2d(y, [rows, k], 'float32')];
  }
}
