/**
 * Tracing: how a function becomes a plan.
 *
 * The function runs once on *traced tensors* — stand-ins for its arguments that
 * carry an example value. Every op applied to one (through `F`, or a method such as
 * `x.add(y)`) is appended to the op list as `{op, inputs, outputs}` and also run
 * eagerly on the examples, so each traced result knows its shape and a shape error
 * surfaces at the op that caused it. tf.Tensors the function uses become the plan's
 * state: declared parameters and tf.Variables by reference (a plan run that assigns
 * them updates them), other tensors by value (copied now, as constants).
 *
 * The trace records what happened for these examples: value-dependent branches
 * (`if (x.shape[0] > 1)`) are fixed at build time, as with tf.function or
 * torch.jit.trace. Traced tensors have no data to read — a plan never leaves the op
 * list to look at values.
 */
import { inspect } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { expectedOutputs, isTensor, isVariable, opSpec, type PlanArg, type PlanArgSpec, type PlanDefinition, type PlanOp, type TensorOpName } from '../../messages/index.js';
import { isPointer } from '../op-args.js';

type OpFn = (...args: unknown[]) => tf.Tensor | tf.Tensor[];
const tfOps = tf as unknown as Record<string, OpFn>;

/** Pointer-style op methods on traced tensors (`x.add(y)`), installed by functional.ts. */
export type TracedMethodName = Exclude<TensorOpName, 'where' | 'concat' | 'stack'>;
type TracedMethods = { [K in TracedMethodName]: (...args: any[]) => any };

// The interface merges the op methods (installed by functional.ts) into the class type.
export interface TracedTensor extends TracedMethods {}

/** A value inside a plan being built: its name in the op list and an example of its value. */
export class TracedTensor {
  constructor(
    readonly trace: Trace,
    /** Its name in the plan: an argument's name or `%n`. */
    readonly ref: string,
    /** What it held for the build's example arguments (only its shape and dtype matter). */
    readonly example: tf.Tensor,
  ) {}

  get shape(): number[] {
    return this.example.shape;
  }

  get dtype(): tf.DataType {
    return this.example.dtype;
  }

  get rank(): number {
    return this.example.rank;
  }

  get size(): number {
    return this.example.size;
  }

  toString(): string {
    return `TracedTensor ${this.ref}: ${this.dtype}[${this.shape.join(', ')}] (plan ${this.trace.planName})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export const isTraced = (value: unknown): value is TracedTensor => value instanceof TracedTensor;

let active: Trace | undefined;

/** The plan being built right now, if any (plan ops such as F.assign record into it). */
export function activeTrace(): Trace | undefined {
  return active;
}

export function withTrace<T>(trace: Trace, fn: () => T): T {
  const previous = active;
  active = trace;
  try {
    return fn();
  } finally {
    active = previous;
  }
}

/** A state tensor of the plan being built; `owned`: a copy the plan made (a constant), not a parameter it shares. */
export interface StateSlot {
  name: string;
  tensor: tf.Tensor;
  owned: boolean;
}

export class Trace {
  readonly ops: PlanOp[] = [];
  readonly args: PlanArgSpec[] = [];
  readonly slots: StateSlot[] = [];
  /** The op being recorded until it has been: where tracing stopped, if it throws. */
  current?: { index: number; op: string };
  private readonly byTensor = new Map<tf.Tensor, string>();
  private readonly names = new Set<string>();
  /** Example values created while tracing (freed by dispose). */
  private readonly examples: tf.Tensor[] = [];
  private next: number;
  private finished = false;

  constructor(
    readonly planName: string,
    argNames: readonly string[],
    declared: ReadonlyArray<readonly [string, tf.Tensor]>,
  ) {
    // Op outputs are numbered after the arguments and declared state, as `%2 = add(x, y)` reads.
    this.next = argNames.length + declared.length;
    for (const name of argNames) this.names.add(name);
    for (const [name, tensor] of declared) this.addState(name, tensor, false);
  }

  /** A traced argument standing for `example`; `shape` may hold −1 for "any size". */
  arg(name: string, example: tf.Tensor, shape?: readonly number[], owned = false): TracedTensor {
    this.args.push({ name, shape: [...(shape ?? example.shape)], dtype: example.dtype });
    if (owned) this.examples.push(example);
    return new TracedTensor(this, name, example);
  }

  /** Registers a state tensor under `base` (declared names), or `base0`, `base1`, … (`numbered`: captured ones). */
  private addState(base: string, tensor: tf.Tensor, owned: boolean, numbered = false): string {
    let name = numbered ? `${base}0` : base;
    for (let k = numbered ? 1 : 0; this.names.has(name); k++) name = numbered ? `${base}${k}` : `${base}_${k}`;
    this.names.add(name);
    this.slots.push({ name, tensor, owned });
    this.byTensor.set(tensor, name);
    return name;
  }

  /** The state name of a tensor the function uses: declared parameters and variables by reference, other tensors copied. */
  capture(t: tf.Tensor): string {
    const known = this.byTensor.get(t);
    if (known !== undefined) return known;
    if (t.isDisposed) throw new TypeError(`a tensor of shape [${t.shape}] that the function uses is disposed`);
    if (isVariable(t)) return this.addState('var', t, false, true);
    const name = this.addState('c', tf.clone(t), true, true);
    this.byTensor.set(t, name); // the same constant used twice is captured once
    return name;
  }

  /** Whether an argument list holds state the plan shares by reference (a declared parameter or a tf.Variable). */
  readsState(values: readonly unknown[], depth = 0): boolean {
    for (const value of values) {
      if (isTensor(value) && (isVariable(value) || this.slots.some((s) => s.tensor === value && !s.owned))) return true;
      if (Array.isArray(value) && depth < 8 && this.readsState(value, depth + 1)) return true;
    }
    return false;
  }

  private assertLive(): void {
    if (this.finished) {
      throw new TypeError(`a traced value of plan ${this.planName} was used after its build finished; traced values exist only while the plan's function is being traced`);
    }
  }

  /** The plan input standing for `value`; `where` names it in errors. */
  input(op: string, value: unknown, where: string): PlanArg {
    if (value instanceof TracedTensor) {
      if (value.trace !== this) throw new TypeError(`${op}: ${where} (${value}) belongs to the trace of plan ${value.trace.planName}, not of ${this.planName}`);
      return { ref: value.ref };
    }
    if (isTensor(value)) return { ref: this.capture(value) };
    if (value === undefined || value === null) return null;
    switch (typeof value) {
      case 'number':
        if (!Number.isFinite(value)) throw new TypeError(`${op}: ${where} is ${value}; plans carry finite numbers only (put it in a tensor)`);
        return value;
      case 'string':
      case 'boolean':
        return value;
    }
    if (Array.isArray(value)) return value.map((v, i) => this.input(op, v, `${where}.${i + 1}`));
    if (isPointer(value)) {
      throw new TypeError(`${op}: ${where} is a pointer (${value}); build plans with local example tensors, then send the plan where the data is and call its pointer there`);
    }
    throw new TypeError(`${op}: ${where} (${Object.prototype.toString.call(value)}) cannot be part of a plan; ops take traced tensors, tensors, numbers, strings, booleans, null and arrays of these`);
  }

  private exampleOf(value: unknown): unknown {
    if (value instanceof TracedTensor) return value.example;
    if (Array.isArray(value)) return value.map((v) => this.exampleOf(v));
    return value;
  }

  private outputs(examples: tf.Tensor[]): TracedTensor[] {
    this.examples.push(...examples);
    return examples.map((t) => new TracedTensor(this, `%${this.next++}`, t));
  }

  private begin(op: string): void {
    this.assertLive();
    this.current = { index: this.ops.length, op };
  }

  /** Records a tfjs op applied to traced values; returns the traced result(s). */
  call(op: TensorOpName, rawArgs: readonly unknown[]): TracedTensor | TracedTensor[] {
    this.begin(op);
    const args = [...rawArgs];
    while (args.length > 0 && args[args.length - 1] === undefined) args.pop(); // tfjs reads a missing argument as its default
    const spec = opSpec(op)!;
    if (args.length < spec.min || args.length > spec.max) {
      throw new TypeError(`${op} takes ${spec.min === spec.max ? spec.min : `${spec.min} to ${spec.max}`} argument(s) in a plan, got ${args.length}`);
    }
    const inputs = args.map((a, i) => this.input(op, a, `argument ${i + 1}`));
    const count = expectedOutputs(op, inputs);
    if (count === undefined) throw new TypeError(`${op}: the number of results must be known when the plan is built; pass the number of parts (e.g. split(x, 2))`);
    const result = tf.tidy(() => tfOps[op](...args.map((a) => this.exampleOf(a))));
    const traced = this.outputs(Array.isArray(result) ? result : [result]);
    this.ops.push({ op, inputs, outputs: traced.map((t) => t.ref) });
    this.current = undefined;
    return op === 'split' ? traced : traced[0];
  }

  /** Records `grads`: d(target)/d(w) for each w, an argument or a state tensor of the plan. */
  grads(target: unknown, wrt: readonly unknown[]): TracedTensor[] {
    this.begin('grads');
    if (!(target instanceof TracedTensor) || target.trace !== this) throw new TypeError('grads: differentiate a value the plan computes (a traced tensor of this plan)');
    if (!Array.isArray(wrt) || wrt.length === 0) throw new TypeError('grads: name the values to differentiate with respect to, e.g. F.grads(loss, [w, b])');
    const refs = wrt.map((w, i) => {
      if (w instanceof TracedTensor) {
        if (!this.args.some((a) => a.name === w.ref)) {
          throw new TypeError(`grads: wrt ${i + 1} (${w.ref}) is computed by an op; gradients are taken with respect to the plan's arguments and parameters`);
        }
        return w.ref;
      }
      if (isTensor(w)) return this.capture(w);
      throw new TypeError(`grads: wrt ${i + 1} is not a tensor`);
    });
    const traced = this.outputs(wrt.map((w) => tf.zerosLike(this.exampleOf(w) as tf.Tensor))); // shapes only: gradients are computed when the plan runs
    this.ops.push({ op: 'grads', inputs: [{ ref: target.ref }], attrs: { wrt: refs.map((ref) => ({ ref })) }, outputs: traced.map((t) => t.ref) });
    this.current = undefined;
    return traced;
  }

  /** Records `assign`: when the plan runs, `state` (a parameter or variable it uses) takes `value`. */
  assign(state: unknown, value: unknown): void {
    this.begin('assign');
    if (!isTensor(state)) throw new TypeError(`assign: the target must be a parameter or tf.Variable the plan uses, got ${state instanceof TracedTensor ? `traced value ${state.ref}` : typeof state}`);
    const name = this.capture(state);
    if (this.slots.find((s) => s.name === name)!.owned) throw new TypeError(`assign: the target (shape [${state.shape}]) is a constant the plan copied, not a parameter or tf.Variable; only those can be updated`);
    if (!(value instanceof TracedTensor) && !isTensor(value)) throw new TypeError('assign: the new value must be a tensor');
    this.ops.push({ op: 'assign', inputs: [{ ref: name }, this.input('assign', value, 'the new value')], outputs: [] });
    this.current = undefined;
  }

  /** Ends the trace: `result` is what the function returned (a traced value or an array of them). */
  finish(result: unknown): { definition: PlanDefinition; slots: StateSlot[] } {
    const values = Array.isArray(result) ? result : [result];
    if (values.length === 0) throw new TypeError('the function returned no value; a plan returns at least one tensor');
    const outputs = values.map((v, i) => {
      if (v instanceof TracedTensor && v.trace === this) return v.ref;
      if (isTensor(v)) return this.capture(v);
      throw new TypeError(`result ${i + 1} of the function is ${v === undefined ? 'undefined' : Object.prototype.toString.call(v)}; a plan returns the tensors it computed`);
    });
    this.finished = true;
    return { definition: { name: this.planName, args: this.args, stateNames: this.slots.map((s) => s.name), ops: this.ops, outputs }, slots: this.slots };
  }

  /** Frees the example values, and (after a failed build) the constants captured. */
  dispose(failed: boolean): void {
    this.finished = true;
    tf.dispose(this.examples);
    this.examples.length = 0;
    if (failed) for (const slot of this.slots) if (slot.owned) slot.tensor.dispose();
  }
}
