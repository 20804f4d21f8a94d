/**
 * Plan: a function recorded once as a list of tensor ops, to be sent to a worker
 * and run there by reference — one message instead of one per op (seed 002, §2).
 *
 *   class Net extends Plan {
 *     fc1 = nn.linear(2, 3);
 *     fc2 = nn.linear(3, 2);
 *     forward(x) { return F.logSoftmax(this.fc2(F.relu(this.fc1(x))), 0); }
 *   }
 *   const net = new Net({ rng: sim.rng('model/init') });
 *   net.build(tf.tensor([1, 2]));          // trace forward once: the op list
 *   const ptrNet = net.send(bob);          // one message: ops + parameters
 *   const y = ptrNet(xPtr);                // one runPlan message; y is a pointer
 *
 * A plan is callable: `net(x)` runs the op list locally once built (bitwise equal to
 * `net.forward(x)`), and forward itself before. Its *state* — parameters (layers'
 * variables, shared by reference), variables it uses, and constants it captured
 * (copied) — travels with it and is referenced by name from the op list.
 */
import { inspect } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { createStream, FedsimError, type RandomStream } from '../../runtime/index.js';
import {
  checkPlan,
  describeIssues,
  formatPlan,
  isTensor,
  isVariable,
  joinPlan,
  type PlanDefinition,
  type PlanProblem,
  PlanSchema,
  type PlanWire,
  splitPlan,
} from '../../messages/index.js';
import { CompiledPlan, executePlan, type PlanLoopOptions, runPlanLoop } from '../../actors/index.js';
import { isPointer } from '../op-args.js';
import { VirtualWorker } from '../worker-handle.js';
import { argNames } from './arg-names.js';
import { callable } from './callable.js';
import { Layer } from './nn.js';
import { PlanBuildError, PlanNotBuiltError } from './plan-errors.js';
import { PlanPointer, type PlanTrainResult } from './plan-pointer.js';
import { replayInTrace } from './replay.js';
import { isTraced, Trace, withTrace } from './trace.js';

export interface PlanOptions {
  /** Stream the plan's layers draw their initial parameters from; pass `sim.rng('model/init')` (default: a fixed stream named after the plan). */
  rng?: RandomStream;
  name?: string;
}

/** What func2plan and trainingPlan add: the function, its argument names, state declared up front. */
export interface PlanInit extends PlanOptions {
  fn?: (...args: any[]) => unknown;
  argNames?: readonly string[];
  state?: ReadonlyArray<readonly [string, tf.Tensor]>;
}

interface Built {
  definition: PlanDefinition;
  compiled: CompiledPlan;
  state: Map<string, tf.Tensor>;
  /** State tensors this plan made (captured constants; all of a fetched plan's) and disposes. */
  owned: Set<tf.Tensor>;
}

interface Internals {
  name: string;
  rng?: RandomStream;
  fn?: (...args: any[]) => unknown;
  argNames?: readonly string[];
  declared: Array<readonly [string, tf.Tensor]>;
  built?: Built;
  disposed: boolean;
}

// Kept off the plan object: its own enumerable properties are its layers (PyTorch's module fields).
const internals = new WeakMap<object, Internals>();

function own(plan: Plan): Internals {
  const found = internals.get(plan);
  if (!found) throw new FedsimError('This object was not constructed by Plan (a subclass constructor must call super() and not replace `this`).');
  if (found.disposed) throw new FedsimError(`Plan ${found.name} was disposed; it can no longer be built, run or sent.`);
  return found;
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

// The call signature: `plan(x, y)` runs the plan (see run()).
export interface Plan {
  (...args: any[]): any;
}

export class Plan {
  constructor(options: PlanInit = {}) {
    const self = callable<Plan>(new.target.prototype, (...args: unknown[]) => self.run(...args));
    internals.set(self, {
      name: options.name ?? (new.target === Plan ? 'plan' : new.target.name),
      rng: options.rng,
      fn: options.fn,
      argNames: options.argNames,
      declared: [...(options.state ?? [])],
      disposed: false,
    });
    return self;
  }

  get name(): string {
    return internals.get(this)?.name ?? 'plan';
  }

  get isBuilt(): boolean {
    return internals.get(this)?.built !== undefined;
  }

  /** The op list and its names, once built. */
  get definition(): PlanDefinition | undefined {
    return internals.get(this)?.built?.definition;
  }

  /** The computation. Subclasses define it; func2plan's plans run their function. */
  forward(...args: any[]): any {
    const { fn } = own(this);
    if (fn) return fn.apply(this, args);
    throw new FedsimError(`Plan ${this.name} has no forward(): subclass Plan and define forward(x), or make a plan from a function with func2plan(fn).`);
  }

  /** `[name, variable]` of every parameter: layer fields in field order (`fc1.weight`), nested plans, tf.Variable fields. Initialises layers first. */
  namedParameters(): Array<[string, tf.Variable]> {
    const inner = own(this);
    const out: Array<[string, tf.Variable]> = [];
    const visit = (prefix: string, value: unknown, depth: number): void => {
      if (value instanceof Layer) {
        // Without a stream given, a fixed one: still reproducible, but the same for every seed.
        inner.rng ??= createStream(0, `plan/${inner.name}/init`);
        out.push(...value.initialise(inner.rng).namedParameters(prefix));
      } else if (value instanceof Plan && value !== this) {
        out.push(...value.namedParameters().map(([name, v]): [string, tf.Variable] => [`${prefix}.${name}`, v]));
      } else if (isVariable(value)) {
        out.push([prefix, value]);
      } else if (Array.isArray(value) && depth < 4) {
        value.forEach((item, i) => visit(`${prefix}.${i}`, item, depth + 1));
      }
    };
    for (const key of Object.keys(this)) visit(key, (this as unknown as Record<string, unknown>)[key], 0);
    return out;
  }

  parameters(): tf.Variable[] {
    return this.namedParameters().map(([, v]) => v);
  }

  /** Copies of the parameters' values, in namedParameters() order (FL weights: Float32Array[]). */
  getParameters(): Float32Array[] {
    return this.parameters().map((v) => new Float32Array(v.dataSync() as Float32Array));
  }

  /** Overwrites the parameters, in namedParameters() order (the arrays are copied). */
  setParameters(values: readonly Float32Array[]): void {
    const params = this.namedParameters();
    if (values.length !== params.length) throw new RangeError(`${this.name}.setParameters: got ${values.length} arrays for ${params.length} parameters (${params.map(([n]) => n).join(', ')})`);
    params.forEach(([name, v], i) => {
      if (values[i].length !== v.size) throw new RangeError(`${this.name}.setParameters: ${name} has ${v.size} values (shape [${v.shape}]), got ${values[i].length}`);
      const t = tf.tensor(values[i], v.shape, 'float32');
      v.assign(t);
      t.dispose();
    });
  }

  /** Traces forward on example tensors: the op list. Rebuilding replaces the previous one. */
  build(...exampleArgs: tf.Tensor[]): this {
    exampleArgs.forEach((a, i) => {
      if (isTensor(a)) return;
      const hint = isPointer(a) ? ': build with local example tensors, then send the plan to where the data is' : '';
      throw new TypeError(`${this.name}.build: example argument ${i + 1} must be a tf.Tensor${hint}`);
    });
    return this.trace(exampleArgs.map((example) => ({ example })));
  }

  /** Traces forward on placeholders of these shapes (−1: any size, traced as 1), as PySyft's args_shape. */
  buildFromShapes(shapes: ReadonlyArray<readonly number[]>, dtypes: ReadonlyArray<tf.DataType> = []): this {
    shapes.forEach((shape, i) => {
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= -1)) throw new TypeError(`${this.name}: argsShape[${i}] must be an array of sizes (−1 for any), got ${JSON.stringify(shape)}`);
    });
    return this.trace(shapes.map((shape, i) => ({ example: tf.ones(shape.map((d) => (d < 0 ? 1 : d)), dtypes[i] ?? 'float32'), shape, owned: true })));
  }

  private trace(args: Array<{ example: tf.Tensor; shape?: readonly number[]; owned?: boolean }>): this {
    const inner = own(this);
    const params = this.namedParameters();
    const fn = inner.fn ?? this.forward;
    const names = argNames(fn, args.length, inner.argNames);
    const trace = new Trace(inner.name, names, [...params, ...inner.declared]);
    let built: Built;
    try {
      const result = withTrace(trace, () => fn.apply(this, args.map((a, i) => trace.arg(names[i], a.example, a.shape, a.owned))));
      const { definition, slots } = trace.finish(result);
      built = { definition, compiled: new CompiledPlan(definition), state: new Map(slots.map((s) => [s.name, s.tensor])), owned: new Set(slots.filter((s) => s.owned).map((s) => s.tensor)) };
    } catch (error) {
      trace.dispose(true);
      throw PlanBuildError.fromTracing(inner.name, trace.ops, trace.current, error);
    }
    trace.dispose(false);
    const problem = checkPlan(built.definition) ?? schemaProblem(built);
    if (problem) {
      tf.dispose([...built.owned]);
      const op = problem.opIndex === undefined ? undefined : built.definition.ops[problem.opIndex].op;
      throw new PlanBuildError(inner.name, problem.opIndex, op, `Plan ${inner.name} was traced, but a worker would refuse it: ${problem.message}`);
    }
    this.releaseBuilt();
    inner.built = built;
    return this;
  }

  private releaseBuilt(): void {
    const inner = internals.get(this)!;
    if (inner.built) tf.dispose([...inner.built.owned]);
    inner.built = undefined;
  }

  /**
   * Runs the plan here. Built: its op list, on tensors (state assignments are applied
   * to its parameters); not built: forward itself. On traced values (inside another
   * plan's build) its ops are recorded into that plan.
   */
  run(...args: unknown[]): any {
    const inner = own(this);
    if (args.some(isTraced)) return this.inline(args);
    const pointer = args.find(isPointer);
    if (pointer) {
      const where = pointer.location.id;
      throw new FedsimError(`${this.name}(…): an argument is a pointer to ${where}; a plan runs where it is, so send it there first: const ptr = ${this.name}.send(${where}); ptr(xPtr).`);
    }
    this.namedParameters();
    if (!inner.built) return (inner.fn ?? this.forward).apply(this, args);
    const { definition, compiled, state } = inner.built;
    if (args.length !== definition.args.length || !args.every(isTensor)) {
      throw new FedsimError(`Plan ${this.signature()} takes ${definition.args.length} tensor argument(s), got ${args.length === definition.args.length ? 'something other than tensors' : args.length}.`);
    }
    const { outputs, assigned } = executePlan(compiled, state, args as tf.Tensor[]);
    this.commit(assigned);
    return outputs.length === 1 ? outputs[0] : outputs;
  }

  /**
   * Trains here exactly as a worker does for `ptr.train(...)`: `epochs` passes over
   * (data, target) in minibatches of `batchSize` rows, shuffled each epoch from `rng`
   * (give the same stream as the worker's, e.g. `io.rng('shuffle')` in an actor, and
   * the bits match). Needs a training plan (two arguments, loss first); its state —
   * the model's parameters — is updated once every batch has succeeded.
   */
  train(data: tf.Tensor, target: tf.Tensor, options: PlanLoopOptions): PlanTrainResult {
    const inner = own(this);
    if (!inner.built || inner.built.definition.args.length !== 2) {
      throw new FedsimError(`${this.name}.train: a training loop runs a built plan of two arguments (x, y), such as trainingPlan(model, …); this one is ${inner.built ? `${this.signature()}` : 'not built'}.`);
    }
    if (!isTensor(data) || !isTensor(target) || data.rank === 0 || data.shape[0] !== target.shape[0]) {
      throw new FedsimError(`${this.name}.train: data and target must be tensors with one row per sample (the same first dimension).`);
    }
    const { changed, meanLoss, steps, samples } = runPlanLoop(inner.built.compiled, inner.built.state, data, target, options);
    this.commit(changed);
    return { meanLoss, steps, samples };
  }

  /** On traced values (inside another plan's build): records this plan's ops into that build. */
  private inline(args: unknown[]): any {
    const inner = own(this);
    return inner.built ? replayInTrace(inner.built.definition, inner.built.state, args) : (inner.fn ?? this.forward).apply(this, args);
  }

  /** Applies a local run's assignments: variables in place; other state replaced. */
  private commit(assigned: ReadonlyMap<string, tf.Tensor>): void {
    const built = internals.get(this)!.built!;
    for (const [name, value] of assigned) {
      const current = built.state.get(name);
      if (isVariable(current)) {
        current.assign(value);
        value.dispose();
        continue;
      }
      built.state.set(name, value);
      built.owned.add(value);
      if (current && built.owned.delete(current)) current.dispose();
    }
  }

  /** Sends the plan (op list and state) to `worker`: one message. Returns the pointer to call it by. */
  send(worker: VirtualWorker): PlanPointer {
    const inner = own(this);
    if (!(worker instanceof VirtualWorker)) throw new TypeError(`${this.name}.send: name a worker, e.g. ${this.name}.send(bob) where bob = sim.worker('bob').`);
    if (!inner.built) {
      throw new PlanNotBuiltError(
        `${this.name}.send(${worker.id}): the plan is not built, so there is no op list to send. Build it first with example arguments (${this.name}.build(tf.tensor([1, 2]))), or give func2plan the argument shapes (func2plan(fn, { argsShape: [[-1], [-1]] })).`,
      );
    }
    const { sim } = worker;
    sim.assertOwnWorker(worker, `${this.name}.send`);
    if (worker.isClient) throw new FedsimError(`${this.name}.send: ${worker.id} is the local worker; send plans to a worker created with sim.worker().`);
    const id = sim.nextId();
    sim.tell(worker.id, 'object', { id, value: { kind: 'plan', plan: this.toWire() } });
    return new PlanPointer({ sim, location: worker, idAtLocation: id, definition: inner.built.definition });
  }

  /** State tensors by name (the plan's own; read, don't dispose). */
  stateTensors(): ReadonlyMap<string, tf.Tensor> {
    return own(this).built?.state ?? new Map();
  }

  /**
   * Copies values into this plan's parameters and state, by name — e.g. the trained
   * state of a plan fetched back from a worker (`model.loadState(await ptr.get())`).
   * Names this plan does not have are ignored; returns the names updated.
   */
  loadState(source: Plan | ReadonlyMap<string, tf.Tensor>): string[] {
    const from = source instanceof Plan ? source.stateTensors() : source;
    const built = own(this).built;
    const targets = new Map<string, tf.Tensor>(this.namedParameters());
    for (const [name, t] of built?.state ?? []) if (!targets.has(name)) targets.set(name, t);
    const updated: string[] = [];
    for (const [name, value] of from) {
      const target = targets.get(name);
      if (!target) continue;
      if (!sameShape(target.shape, value.shape)) throw new FedsimError(`${this.name}.loadState: ${name} has shape [${target.shape}] here but [${value.shape}] in the source.`);
      if (isVariable(target)) target.assign(value);
      else if (built) {
        const copy = tf.clone(value);
        built.state.set(name, copy);
        built.owned.add(copy);
        if (built.owned.delete(target)) target.dispose();
      }
      updated.push(name);
    }
    return updated;
  }

  /** The wire form (state copied: the message owns the copies). */
  toWire(): PlanWire {
    const built = own(this).built;
    if (!built) throw new PlanNotBuiltError(`${this.name} is not built: build it before serialising it.`);
    return joinPlan(built.definition, new Map([...built.state].map(([name, t]) => [name, tf.clone(t)])));
  }

  /** A plan from its wire form (e.g. fetched back from a worker); it owns the state tensors. */
  static fromWire(wire: PlanWire): Plan {
    const { definition, state } = splitPlan(wire);
    const problem = checkPlan(definition);
    if (problem) {
      tf.dispose([...state.values()]);
      throw new PlanBuildError(definition.name, problem.opIndex, undefined, `Plan ${definition.name} is malformed: ${problem.message}`);
    }
    const plan = new Plan({ name: definition.name });
    internals.get(plan)!.built = { definition, compiled: new CompiledPlan(definition), state, owned: new Set(state.values()) };
    return plan;
  }

  private signature(): string {
    const args = this.definition?.args.map((a) => a.name) ?? [];
    return `${this.name}(${args.join(', ')})`;
  }

  toString(): string {
    const built = internals.get(this)?.built;
    if (!built) return `Plan ${this.name} (not built: call build(...) with example arguments)`;
    return formatPlan(built.definition, (name) => {
      const t = built.state.get(name);
      return t && { dtype: t.dtype, shape: t.shape };
    });
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /** Frees what the plan made: captured constants, a fetched plan's state, its layers' parameters. */
  dispose(): void {
    const inner = internals.get(this);
    if (!inner || inner.disposed) return;
    this.releaseBuilt();
    // The same fields namedParameters() walks (layers and plans, also inside arrays); tf.Variable fields are the caller's.
    const visit = (value: unknown, depth: number): void => {
      if (value instanceof Layer || (value instanceof Plan && value !== this)) value.dispose();
      else if (Array.isArray(value) && depth < 4) for (const item of value) visit(item, depth + 1);
    };
    for (const key of Object.keys(this)) visit((this as unknown as Record<string, unknown>)[key], 0);
    inner.disposed = true;
  }
}

/** What the worker's message schema would say about this plan (names, sizes): caught here, before sending. */
function schemaProblem(built: Built): PlanProblem | undefined {
  const parsed = PlanSchema.safeParse(joinPlan(built.definition, built.state));
  return parsed.success ? undefined : { message: describeIssues(parsed.error) };
}
