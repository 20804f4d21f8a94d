/**
 * The built-in models (linear, logistic, mlp, cnn) as small functional programs
 * over named variables.
 *
 * With the small batches of FL (B = 10) a step's time is mostly per-op overhead.
 * Dense layers are matMul + add (+ relu): measured on cpu and wasm, tfjs's fused
 * matMul is slower to differentiate than the separate ops. Convolutions use
 * tf.fused.conv2d (conv + bias + relu in one kernel), which XNNPACK runs fastest.
 */
import * as tf from '@tensorflow/tfjs';
import type { RandomStream } from '../../runtime/rng.js';
import { type ParamInit, initialWeights } from './init.js';
import { type Model, VariableModel, makeVariable } from './model.js';
import { type BuiltinSpec, type CnnSpec, type LossName, defaultLoss, inputSize, outputSize } from './spec.js';
import { assertSameLayout } from './weights.js';

/** Spatial size after a 2×2 max-pool with stride 2 and 'valid' padding. */
const pooled = (n: number) => Math.floor(n / 2);

function cnnFlatSize(spec: CnnSpec): number {
  const [h, w] = spec.inputShape;
  return pooled(pooled(h)) * pooled(pooled(w)) * spec.filters[1];
}

function dense(x: tf.Tensor2D, kernel: tf.Tensor, bias: tf.Tensor, relu: boolean): tf.Tensor2D {
  const z = tf.add(tf.matMul(x, kernel as tf.Tensor2D), bias) as tf.Tensor2D;
  return relu ? tf.relu(z) : z;
}

/** The parameters of a built-in spec, in weight order, with their initialisation rule. */
export function builtinParams(spec: BuiltinSpec): ParamInit[] {
  const dense = (name: string, fanIn: number, fanOut: number, relu: boolean): ParamInit[] => [
    { name: `${name}/kernel`, shape: [fanIn, fanOut], init: relu ? 'he-uniform' : 'glorot-uniform' },
    { name: `${name}/bias`, shape: [fanOut], init: 'zeros' },
  ];
  switch (spec.kind) {
    case 'linear':
      return dense('linear', spec.inputs, spec.outputs, false);
    case 'logistic':
      return dense('logistic', spec.inputs, spec.classes, false);
    case 'mlp': {
      const params: ParamInit[] = [];
      for (let i = 0; i + 1 < spec.layers.length; i++) {
        params.push(...dense(`dense${i}`, spec.layers[i], spec.layers[i + 1], i + 2 < spec.layers.length));
      }
      return params;
    }
    case 'cnn': {
      const k = spec.kernelSize;
      const [c0] = [spec.inputShape[2]];
      const [f1, f2] = spec.filters;
      return [
        { name: 'conv1/kernel', shape: [k, k, c0, f1], init: 'he-uniform' },
        { name: 'conv1/bias', shape: [f1], init: 'zeros' },
        { name: 'conv2/kernel', shape: [k, k, f1, f2], init: 'he-uniform' },
        { name: 'conv2/bias', shape: [f2], init: 'zeros' },
        ...dense('dense1', cnnFlatSize(spec), spec.hidden, true),
        ...dense('dense2', spec.hidden, spec.classes, false),
      ];
    }
  }
}

export class BuiltinModel extends VariableModel {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly loss: LossName;
  readonly trainable: readonly tf.Variable[];

  /** Use createModel(spec, rng) or restoreModel(state). */
  constructor(readonly spec: BuiltinSpec, weights: readonly Float32Array[]) {
    const params = builtinParams(spec);
    const expected = params.map((p) => new Float32Array(p.shape.reduce((a, b) => a * b, 1)));
    assertSameLayout(expected, weights, `building a '${spec.kind}' model (parameters ${params.map((p) => p.name).join(', ')})`);
    const variables = params.map((p, i) => makeVariable(weights[i], p.shape));
    super(
      params.map((p) => p.name),
      params.map((p) => p.shape),
      variables,
    );
    this.trainable = variables;
    this.inputSize = inputSize(spec);
    this.outputSize = outputSize(spec);
    this.loss = defaultLoss(spec);
  }

  static init(spec: BuiltinSpec, rng: RandomStream): BuiltinModel {
    return new BuiltinModel(spec, initialWeights(builtinParams(spec), rng));
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    this.assertLive('forward');
    const v = this.variables;
    const spec = this.spec;
    return tf.tidy((): tf.Tensor2D => {
      switch (spec.kind) {
        case 'linear':
        case 'logistic':
          return dense(x, v[0], v[1], false);
        case 'mlp': {
          let h: tf.Tensor2D = x;
          const layers = v.length / 2;
          for (let i = 0; i < layers; i++) {
            h = dense(h, v[2 * i], v[2 * i + 1], i + 1 < layers);
          }
          return h;
        }
        case 'cnn': {
          const [h, w, c] = spec.inputShape;
          let a: tf.Tensor4D = tf.reshape(x, [-1, h, w, c]);
          a = tf.fused.conv2d({ x: a, filter: v[0] as tf.Tensor4D, strides: 1, pad: 'same', bias: v[1], activation: 'relu' });
          a = tf.maxPool(a, 2, 2, 'valid');
          a = tf.fused.conv2d({ x: a, filter: v[2] as tf.Tensor4D, strides: 1, pad: 'same', bias: v[3], activation: 'relu' });
          a = tf.maxPool(a, 2, 2, 'valid');
          const flat = tf.reshape(a, [-1, cnnFlatSize(spec)]) as tf.Tensor2D;
          return dense(dense(flat, v[4], v[5], true), v[6], v[7], false);
        }
      }
    });
  }

  clone(): Model {
    return new BuiltinModel(this.spec, this.getWeights());
  }
}
