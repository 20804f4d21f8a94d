/**
 * Evaluation of a model on a data set: mean loss and (for classifiers) accuracy.
 */
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../models/model.js';
import type { LossName } from '../models/spec.js';
import { type Dataset, datasetSize, sliceRows, targetTensor } from './dataset.js';
import { lossFunction } from './losses.js';

export interface Evaluation {
  /** Mean per-sample loss (NaN when the set is empty). */
  loss: number;
  /** Fraction of samples whose arg-max output is the label; absent for regression (MSE). */
  accuracy?: number;
  n: number;
}

/** Evaluates in batches of `batchSize` (default 1024) so big test sets do not need one huge tensor. */
export function evaluateModel(model: Model, data: Dataset, options: { batchSize?: number; loss?: LossName } = {}): Evaluation {
  const loss = options.loss ?? model.loss;
  const n = datasetSize(data, model, loss, 'evaluateModel');
  const batchSize = options.batchSize ?? 1024;
  const lossFn = lossFunction(loss);
  const classify = loss !== 'mse';
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const rows = sliceRows(data, start, end, model.inputSize, model.outputSize, loss);
    const [value, predicted] = tf.tidy(() => {
      const x = tf.tensor2d(rows.x, [end - start, model.inputSize], 'float32');
      const y = targetTensor(rows, end - start, model.outputSize, loss);
      const out = model.forward(x);
      return [lossFn(y, out), classify ? tf.argMax(out, 1) : tf.scalar(0)];
    });
    lossSum += value.dataSync()[0] * (end - start);
    if (classify) {
      const p = predicted.dataSync();
      for (let i = 0; i < p.length; i++) if (p[i] === rows.y[i]) correct++;
    }
    tf.dispose([value, predicted]);
  }
  const result: Evaluation = { loss: n > 0 ? lossSum / n : NaN, n };
  if (classify) result.accuracy = n > 0 ? correct / n : NaN;
  return result;
}
