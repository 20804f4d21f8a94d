/**
 * The Model abstraction every FL component trains and aggregates.
 *
 * A model is a spec (plain data), named parameter tensors (tf.Variables owned by
 * the model) and `forward(x)`. Weights leave and enter only as Float32Arrays
 * (`getWeights`/`setWeights`), so a model can be rebuilt anywhere from
 * `state()` = { spec, weights } — which is what a worker keeps in its store and
 * what a message carries.
 *
 * Ownership: the model owns its variables until `dispose()`. `forward` returns a
 * new tensor the caller owns (call it inside `tf.tidy`).
 */
import * as tf from '@tensorflow/tfjs';
import { FlConfigError } from '../errors.js';
import { type LossName, type ModelSpec, type ModelState } from './spec.js';
import { type Weights, assertSameLayout } from './weights.js';

export interface Model {
  readonly spec: ModelSpec;
  /** Names of all parameters, in weight order (e.g. `dense0/kernel`). */
  readonly paramNames: readonly string[];
  readonly paramShapes: readonly (readonly number[])[];
  /** The variables gradients are taken for, in weight order (a subset of all weights for layers models with frozen or running-statistics weights). */
  readonly trainable: readonly tf.Variable[];
  /** Features per sample. */
  readonly inputSize: number;
  /** Outputs per sample (classes, or regression targets). */
  readonly outputSize: number;
  /** For each trainable variable, its position in the weight order. */
  readonly trainableIndices: readonly number[];
  /** The loss this model is trained with by default. */
  readonly loss: LossName;
  readonly disposed: boolean;
  /**
   * Outputs (logits, probabilities or regression values) for a batch `x` of shape
   * [n, inputSize]. `training` only matters to layers that behave differently while
   * training (BatchNormalization in a layers model).
   */
  forward(x: tf.Tensor2D, options?: { training?: boolean }): tf.Tensor2D;
  /** Copies of every parameter's values. */
  getWeights(): Weights;
  /** Overwrites every parameter (the arrays are copied, never kept). */
  setWeights(weights: readonly Float32Array[]): void;
  /** Number of scalars in all parameters. */
  countParams(): number;
  /** An independent model with the same spec and weights. */
  clone(): Model;
  /** { spec, weights }: everything needed to rebuild this model. */
  state(): ModelState;
  dispose(): void;
}

/** Shared weight handling over an ordered list of variables. */
export abstract class VariableModel implements Model {
  abstract readonly spec: ModelSpec;
  abstract readonly inputSize: number;
  abstract readonly outputSize: number;
  abstract readonly loss: LossName;
  abstract readonly trainable: readonly tf.Variable[];
  abstract forward(x: tf.Tensor2D, options?: { training?: boolean }): tf.Tensor2D;
  abstract clone(): Model;

  private isDisposed = false;

  protected constructor(
    readonly paramNames: readonly string[],
    readonly paramShapes: readonly (readonly number[])[],
    /** Every weight, in weight order. */
    protected readonly variables: readonly tf.Variable[],
  ) {}

  get trainableIndices(): number[] {
    return this.trainable.map((t) => this.variables.indexOf(t));
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  getWeights(): Weights {
    this.assertLive('getWeights');
    // dataSync may return the backend's own buffer (cpu does): always copy.
    return this.variables.map((v) => new Float32Array(v.dataSync() as Float32Array));
  }

  setWeights(weights: readonly Float32Array[]): void {
    this.assertLive('setWeights');
    const expected = this.paramShapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
    assertSameLayout(expected, weights, `setWeights on a '${this.spec.kind}' model (parameters ${this.paramNames.join(', ')})`);
    for (let i = 0; i < this.variables.length; i++) {
      const value = tf.tensor(weights[i], this.paramShapes[i] as number[], 'float32');
      this.variables[i].assign(value);
      value.dispose();
    }
  }

  countParams(): number {
    return this.paramShapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  }

  state(): ModelState {
    return { spec: this.spec, weights: this.getWeights() };
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.disposeVariables();
  }

  protected disposeVariables(): void {
    for (const v of this.variables) v.dispose();
  }

  protected assertLive(what: string): void {
    if (this.isDisposed) {
      throw new FlConfigError(`${what}: this '${this.spec.kind}' model was disposed; clone it before disposing, or rebuild it with restoreModel(state)`, { op: what, field: 'model' });
    }
  }
}

/** Makes a trainable variable holding `values` (copied). */
export function makeVariable(values: Float32Array, shape: readonly number[]): tf.Variable {
  const initial = tf.tensor(values, shape as number[], 'float32');
  const variable = tf.variable(initial, true);
  initial.dispose();
  return variable;
}
