/**
 * Running a plan: its op list evaluated with tfjs, one op after another, exactly as
 * the traced function called them — the same tfjs functions with the same
 * arguments in the same order, which is why a plan's results are bitwise those of
 * running the function directly (on the same backend).
 *
 * The one op that is not a tfjs call is `grads`. tfjs has no persistent graph: a
 * gradient exists only while `tf.valueAndGrads(f)` runs `f`. So the ops between the
 * `wrt` values and the differentiated value are *deferred*: they are not run in
 * order, but inside `f` when the grads op is reached, with the `wrt` values as
 * `f`'s inputs. Their outputs that later ops need are kept out of the gradient
 * scope; an op run early because something needs it before the grads op is simply
 * run again inside `f` (same inputs, same result).
 *
 * A run never changes anything itself: it returns the outputs and the new values of
 * assigned state tensors, every tensor new and owned by the caller, who commits them
 * (or disposes them). On failure everything it created is freed and a PlanOpError
 * names the op.
 */
import * as tf from '@tensorflow/tfjs';
import { formatPlanOp, isTensor, type PlanArg, type PlanDefinition, refsReadBy } from '../messages/index.js';
import { type OpRunner, plainRunner } from './compute/op-runner.js';


/** An op of a plan failed while it ran (or while it was being differentiated). */
export class PlanOpError extends Error {
  override name = 'PlanOpError';
  constructor(
    readonly opIndex: number,
    readonly opText: string,
    readonly reason: unknown,
  ) {
    super(`op #${opIndex} \`${opText}\` failed: ${reason instanceof Error ? reason.message : String(reason)}`);
  }
}

interface GradsStep {
  target: string;
  wrt: string[];
  /** Ops evaluated inside tf.valueAndGrads, in plan order: those on a path from a wrt value to the target. */
  inside: number[];
  /** Outputs of `inside` ops read outside them: kept when the gradient scope ends. */
  exported: string[];
}

/** A checked plan definition with what running it needs precomputed (built once per stored plan). */
export class CompiledPlan {
  /** Op index that writes each op output. */
  readonly producer = new Map<string, number>();
  readonly grads = new Map<number, GradsStep>();
  /** Ops run only inside a grads step (or on demand). */
  readonly deferred = new Set<number>();
  /** No grads and no assign: the plan is a pure function of its arguments and state. */
  readonly pure: boolean;

  constructor(readonly definition: PlanDefinition) {
    const { ops } = definition;
    ops.forEach((op, i) => op.outputs.forEach((ref) => this.producer.set(ref, i)));
    const readers = new Map<string, number[]>();
    ops.forEach((op, i) => {
      for (const ref of refsReadBy(op)) {
        const list = readers.get(ref) ?? [];
        list.push(i);
        readers.set(ref, list);
      }
    });
    const returned = new Set(definition.outputs);
    ops.forEach((op, g) => {
      if (op.op !== 'grads') return;
      const step = this.gradsStep(g, readers, returned);
      this.grads.set(g, step);
      for (const i of step.inside) this.deferred.add(i);
    });
    this.pure = ops.every((op) => op.op !== 'grads' && op.op !== 'assign');
  }

  private gradsStep(g: number, readers: Map<string, number[]>, returned: Set<string>): GradsStep {
    const { ops } = this.definition;
    const op = ops[g];
    const target = (op.inputs[0] as { ref: string }).ref;
    const wrt = (op.attrs!.wrt as Array<{ ref: string }>).map((r) => r.ref);
    // Ancestors of the target (op indices), then those that depend on a wrt value, in plan order.
    const ancestors = new Set<number>();
    const stack = [target];
    while (stack.length > 0) {
      const at = this.producer.get(stack.pop()!);
      if (at === undefined || ancestors.has(at)) continue;
      ancestors.add(at);
      stack.push(...refsReadBy(ops[at]));
    }
    const dependent = new Set<string>(wrt);
    const inside: number[] = [];
    for (const i of [...ancestors].sort((a, b) => a - b)) {
      if (!refsReadBy(ops[i]).some((ref) => dependent.has(ref))) continue;
      inside.push(i);
      for (const ref of ops[i].outputs) dependent.add(ref);
    }
    const insideSet = new Set(inside);
    const exported: string[] = [];
    for (const i of inside) {
      for (const ref of ops[i].outputs) {
        if (ref === target) continue;
        if (returned.has(ref) || (readers.get(ref) ?? []).some((reader) => reader !== g && !insideSet.has(reader))) exported.push(ref);
      }
    }
    return { target, wrt, inside, exported };
  }
}

export interface PlanRunResult {
  /** One tensor per plan output, owned by the caller. */
  outputs: tf.Tensor[];
  /** New values of assigned state tensors, owned by the caller. */
  assigned: Map<string, tf.Tensor>;
}

/**
 * tfjs frees the tape of a gradient computation (and the tensors its kernels saved
 * for backprop) only when the computation succeeds; after a failure they would stay
 * until the next gradient starts, and the saved tensors would leak. Free them.
 */
function releaseFailedTape(): void {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number; activeTape: Array<{ saved?: tf.Tensor[] }> | null } }).state;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null;
}

function resolve(arg: PlanArg, lookup: (ref: string) => tf.Tensor): unknown {
  if (Array.isArray(arg)) return arg.map((a) => resolve(a, lookup));
  if (arg !== null && typeof arg === 'object') return lookup(arg.ref);
  return arg;
}

/**
 * Runs the plan on `args` (in the order of its arguments) with `state` (every state
 * name present). Nothing passed in is changed or disposed.
 */
export function executePlan(plan: CompiledPlan, state: ReadonlyMap<string, tf.Tensor>, args: readonly tf.Tensor[], runner: OpRunner = plainRunner): PlanRunResult {
  const { definition: def } = plan;
  const env = new Map<string, tf.Tensor>();
  def.args.forEach((a, i) => env.set(a.name, args[i]));
  for (const name of def.stateNames) env.set(name, state.get(name)!);
  const inputs = new Set(env.values());
  // Tensors stored while a gradient scope is open must outlive it: kept, and freed by us.
  const kept = new Set<tf.Tensor>();
  let inGradientScope = false;

  const store = (ref: string, t: tf.Tensor) => {
    if (inGradientScope) kept.add(tf.keep(t));
    env.set(ref, t);
  };
  const run = (i: number, lookup: (ref: string) => tf.Tensor): tf.Tensor[] => {
    const op = def.ops[i];
    let result: tf.Tensor | tf.Tensor[];
    try {
      // A missing argument travels as null; tfjs applies its defaults only to undefined.
      result = runner(op.op, op.inputs.map((a) => (a === null ? undefined : resolve(a, lookup))));
    } catch (error) {
      throw error instanceof PlanOpError ? error : new PlanOpError(i, formatPlanOp(op), error);
    }
    const list = Array.isArray(result) ? result : [result];
    if (list.length !== op.outputs.length || !list.every(isTensor)) {
      throw new PlanOpError(i, formatPlanOp(op), `it returned ${list.length} value(s) where ${op.outputs.length} tensor(s) were expected`);
    }
    return list;
  };
  const valueOf = (ref: string): tf.Tensor => {
    const value = env.get(ref);
    if (value !== undefined) return value;
    const at = plan.producer.get(ref)!; // a deferred op needed early: run it now
    run(at, valueOf).forEach((t, k) => store(def.ops[at].outputs[k], t));
    return env.get(ref)!;
  };
  const runGrads = (g: number) => {
    const step = plan.grads.get(g)!;
    const f = (...values: tf.Tensor[]): tf.Tensor => {
      const overlay = new Map<string, tf.Tensor>(step.wrt.map((ref, k) => [ref, values[k]]));
      const lookup = (ref: string) => overlay.get(ref) ?? valueOf(ref);
      for (const i of step.inside) run(i, lookup).forEach((t, k) => overlay.set(def.ops[i].outputs[k], t));
      for (const ref of step.exported) if (!env.has(ref)) store(ref, overlay.get(ref)!);
      return overlay.get(step.target)!;
    };
    let result: { value: tf.Tensor; grads: tf.Tensor[] };
    inGradientScope = true;
    try {
      result = tf.valueAndGrads(f)(step.wrt.map(valueOf));
    } catch (error) {
      releaseFailedTape();
      throw error instanceof PlanOpError ? error : new PlanOpError(g, formatPlanOp(def.ops[g]), error);
    } finally {
      inGradientScope = false;
    }
    if (env.has(step.target)) result.value.dispose();
    else env.set(step.target, result.value);
    def.ops[g].outputs.forEach((ref, k) => env.set(ref, result.grads[k]));
  };

  const assignedNames: string[] = [];
  try {
    const { outputs, assignedValues } = tf.tidy(() => {
      const pending: tf.Tensor[] = [];
      def.ops.forEach((op, i) => {
        if (plan.deferred.has(i)) return;
        if (op.op === 'grads') return runGrads(i);
        if (op.op === 'assign') {
          assignedNames.push((op.inputs[0] as { ref: string }).ref);
          pending.push(valueOf((op.inputs[1] as { ref: string }).ref));
          return;
        }
        run(i, valueOf).forEach((t, k) => store(op.outputs[k], t));
      });
      // Every tensor handed out is new and handed out once: inputs, kept values and repeats are cloned.
      const given = new Set<tf.Tensor>();
      const own = (t: tf.Tensor) => {
        const fresh = inputs.has(t) || kept.has(t) || given.has(t) ? tf.clone(t) : t;
        given.add(fresh);
        return fresh;
      };
      const outputs = def.outputs.map((ref) => own(valueOf(ref)));
      return { outputs, assignedValues: pending.map(own) };
    });
    return { outputs, assigned: new Map(assignedNames.map((name, k) => [name, assignedValues[k]])) };
  } finally {
    for (const t of kept) t.dispose();
  }
}
