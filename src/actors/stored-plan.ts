/**
 * A plan in a worker's object store: its checked definition (compiled once) and its
 * state tensors, which the store owns like any stored tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { joinPlan, type PlanDefinition, type PlanWire } from '../messages/index.js';
import { CompiledPlan } from './plan-interpreter.js';

export class StoredPlan {
  readonly kind = 'plan';
  readonly compiled: CompiledPlan;

  constructor(
    readonly definition: PlanDefinition,
    /** name → tensor; replaced (never mutated) when a run assigns state. */
    private stateTensors: Map<string, tf.Tensor>,
  ) {
    this.compiled = new CompiledPlan(definition);
  }

  get name(): string {
    return this.definition.name;
  }

  get state(): ReadonlyMap<string, tf.Tensor> {
    return this.stateTensors;
  }

  /** Installs new state values (owned from now on) and disposes the ones they replace. */
  commit(assigned: ReadonlyMap<string, tf.Tensor>): void {
    for (const [name, value] of assigned) {
      const old = this.stateTensors.get(name);
      this.stateTensors.set(name, value);
      if (old !== value) old?.dispose();
    }
  }

  /** The wire form. `copy`: the message gets clones (a move, until confirmed); otherwise the state goes with it (get). */
  toWire(copy: boolean): PlanWire {
    const state = copy ? new Map([...this.stateTensors].map(([name, t]) => [name, tf.clone(t)])) : this.stateTensors;
    return joinPlan(this.definition, state);
  }

  dispose(): void {
    for (const t of this.stateTensors.values()) t.dispose();
    this.stateTensors.clear();
  }

  toString(): string {
    const { name, args, ops } = this.definition;
    return `<Plan ${name}(${args.map((a) => a.name).join(', ')}): ${ops.length} op${ops.length === 1 ? '' : 's'}, ${this.stateTensors.size} state tensor${this.stateTensors.size === 1 ? '' : 's'}>`;
  }
}
