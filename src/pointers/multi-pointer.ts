/**
 * MultiPointerTensor: one tensor sent to several workers (`x.send(bob, alice)`).
 *
 * It is a pointer per worker (`children`, keyed by worker id, in the order the
 * workers were given). Ops run on every child and return another multi-pointer;
 * `get()` fetches every child's result, and `get({ sumResults: true })` adds them up
 * in child order (a fixed order, so the float sum is reproducible).
 */
import { inspect } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { Answer } from './answer.js';
import { MULTI_POINTER_BRAND } from './brand.js';
import type { PointerTensor, PointerMethodName, RemoteArg } from './pointer-tensor.js';
import type { Simulation } from './simulation.js';
import type { VirtualWorker } from './worker-handle.js';

export type MultiPointerOpMethods = { [K in Exclude<PointerMethodName, 'split'>]: (...args: RemoteArg[]) => MultiPointerTensor } & {
  split(...args: RemoteArg[]): MultiPointerTensor[];
};

// The op methods are installed by remote-ops.ts.
export interface MultiPointerTensor extends MultiPointerOpMethods {}

export class MultiPointerTensor {
  /** On the prototype (see below): identifies MultiPointerTensors without importing the class. */
  declare readonly [MULTI_POINTER_BRAND]: true;
  /** One pointer per worker, keyed by worker id (PySyft's `ptr.child.child`). */
  readonly children: ReadonlyMap<string, PointerTensor>;

  constructor(
    readonly sim: Simulation,
    pointers: readonly PointerTensor[],
  ) {
    const children = new Map<string, PointerTensor>();
    for (const pointer of pointers) {
      if (children.has(pointer.location.id)) throw new TypeError(`A MultiPointerTensor holds one pointer per worker; ${pointer.location.id} appears twice.`);
      children.set(pointer.location.id, pointer);
    }
    this.children = children;
    sim.track(this);
  }

  get locations(): VirtualWorker[] {
    return [...this.children.values()].map((child) => child.location);
  }

  toString(): string {
    return ['[MultiPointerTensor]', ...[...this.children.values()].map((child) => `\t-> ${child}`)].join('\n');
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /** Every child's object, in child order (each is removed from its worker). */
  get(options?: { sumResults?: false }): Answer<tf.Tensor[]>;
  /** The sum of the children's objects. */
  get(options: { sumResults: true }): Answer<tf.Tensor>;
  get(options: { sumResults?: boolean } = {}): Answer<tf.Tensor[]> | Answer<tf.Tensor> {
    const all = Answer.all([...this.children.values()].map((child) => child.get()));
    if (!options.sumResults) return all;
    return new Answer(all, (tensors: tf.Tensor[]) => {
      const sum = tensors.length === 1 ? tensors[0] : tf.addN(tensors);
      if (tensors.length > 1) tf.dispose(tensors);
      return sum;
    });
  }

  /** Deletes every child's remote object. */
  dispose(): void {
    for (const child of this.children.values()) child.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

Object.defineProperty(MultiPointerTensor.prototype, MULTI_POINTER_BRAND, { value: true });
