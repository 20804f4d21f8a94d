/**
 * One forward and one backward pass that stop at every trainable layer: for each, its input
 * a and δ = ∂(Σ_i ℓ_i)/∂z, the gradient of the summed loss at its pre-activation output z.
 * Row i of δ is ∂ℓ_i/∂z_i, since only example i's loss depends on z_i (every step acts on
 * each example alone: layer-program.ts).
 *
 * tfjs differentiates only with respect to a function's inputs, so each z gets a "probe": a
 * zero tensor of z's shape added to it, passed as an input, whose gradient is δ. The backward
 * pass then runs from the loss down to the first layer's output and no further: no weight
 * gradient is computed (the clipped sums are built from a and δ), and the input gradient of
 * the first layer is never formed.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossFn } from '../losses.js';
import { type LayerProgram, type TrainableStep, preActivation } from './layer-program.js';

export interface LayerSignal {
  step: TrainableStep;
  /** The step's input a (the caller disposes it). */
  input: tf.Tensor;
  /** δ, shaped like z (the caller disposes it). */
  delta: tf.Tensor;
}

/** Per-example shapes of each trainable step's z (batch axis left out), computed once per program. */
const probeShapes = new WeakMap<LayerProgram, number[][]>();

function shapesOf(program: LayerProgram): number[][] {
  let shapes = probeShapes.get(program);
  if (!shapes) {
    const found: number[][] = [];
    tf.tidy(() => {
      let h: tf.Tensor = tf.zeros([1, program.inputSize]);
      for (const step of program.steps) {
        if (step.kind === 'fixed') h = step.apply(h);
        else {
          const z = preActivation(step, h);
          found.push(z.shape.slice(1));
          h = step.activation(z);
        }
      }
    });
    shapes = found;
    probeShapes.set(program, shapes);
  }
  return shapes;
}

/**
 * The signals of every trainable step for a batch x [B, inputSize] with targets y, and
 * Σ_i ℓ_i. The caller disposes the signals' tensors (lossSum follows the caller's tidy).
 */
export function layerSignals(program: LayerProgram, x: tf.Tensor2D, y: tf.Tensor2D, lossFn: LossFn): { signals: LayerSignal[]; lossSum: tf.Scalar } {
  const batch = x.shape[0];
  const steps = program.steps.filter((s): s is TrainableStep => s.kind !== 'fixed');
  const inputs: tf.Tensor[] = [];
  const probes = shapesOf(program).map((shape) => tf.zeros([batch, ...shape]));
  try {
    const summedLoss = (...zProbes: tf.Tensor[]): tf.Scalar => {
      let h: tf.Tensor = x;
      let l = 0;
      for (const step of program.steps) {
        if (step.kind === 'fixed') {
          h = step.apply(h);
          continue;
        }
        // Kept: tfjs runs the forward pass inside its own tidy. A clone, so the caller's x is never the one disposed.
        inputs.push(tf.keep(tf.clone(h)));
        h = step.activation(tf.add(preActivation(step, h), zProbes[l++]));
      }
      const outputs = tf.reshape(h, [batch, program.outputSize]) as tf.Tensor2D;
      return tf.mul(lossFn(y, outputs), batch) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(summedLoss)(probes);
    return { signals: steps.map((step, l) => ({ step, input: inputs[l], delta: grads[l] })), lossSum: value as tf.Scalar };
  } catch (error) {
    tf.dispose(inputs);
    throw error;
  } finally {
    tf.dispose(probes);
  }
}
