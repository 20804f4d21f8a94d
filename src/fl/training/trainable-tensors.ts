/**
 * Full weight arrays (every parameter, in weight order) as tensors of a model's trainable
 * parameters: what gradient terms and anchors are made of.
 */
import * as tf from '@tensorflow/tfjs';
import { FlConfigError } from '../errors.js';
import type { Model } from '../models/model.js';

/**
 * The trainable parameters' slices of full weight arrays (in weight order), as tensors in
 * the parameters' shapes: what an algorithm's gradient terms work with. The caller disposes them.
 */
export function trainableTensors(model: Model, weights: readonly Float32Array[], where: string): tf.Tensor[] {
  if (weights.length !== model.paramShapes.length) {
    throw new FlConfigError(`${where}: ${weights.length} arrays but the model has ${model.paramShapes.length} parameters; pass weights of this model (model.getWeights())`, { at: where, field: 'weights' });
  }
  return model.trainableIndices.map((w) => {
    const shape = model.paramShapes[w] as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    if (weights[w].length !== size) {
      throw new FlConfigError(`${where}: array ${w} (${model.paramNames[w]}) has ${weights[w].length} values, expected ${size}; pass weights of this model (model.getWeights())`, { at: where, field: 'weights', index: w });
    }
    return tf.tensor(weights[w], shape, 'float32');
  });
}
