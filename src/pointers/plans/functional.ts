/**
 * `F`: the functional namespace plans are written with (PyTorch's
 * `torch.nn.functional`, with tfjs's op names): `F.relu(x)`, `F.logSoftmax(x, 0)`,
 * `F.matMul(a, b)` — every op of the allow-list, plus losses and the two plan ops.
 *
 * One function, two modes: on traced tensors an op is recorded into the plan being
 * built; on tf.Tensors it is simply the tfjs op. So `net.forward(x)` on a tensor,
 * the built plan run locally and the plan run on a worker all make the same tfjs
 * calls in the same order — the reason their results are bitwise equal.
 *
 * Inside a build, ops on the plan's parameters and variables are recorded even
 * without a traced argument (`F.add(counter, 1)`); tfjs's own methods on them
 * (`counter.add(1)`) are not — they run at once and their result becomes a constant.
 *
 * Results are typed `any` for that reason: a tf.Tensor when called on tensors, a
 * TracedTensor inside a plan.
 */
import * as tf from '@tensorflow/tfjs';
import { FedsimError } from '../../runtime/index.js';
import { isVariable, METHOD_OPS, TENSOR_OPS, type TensorOpName } from '../../messages/index.js';
import { activeTrace, isTraced, type Trace, TracedTensor } from './trace.js';

type OpFn = (...args: unknown[]) => tf.Tensor | tf.Tensor[];
const tfOps = tf as unknown as Record<string, OpFn>;

/** The trace of the first traced value among the arguments (searched into arrays). */
function traceIn(values: readonly unknown[], depth = 0): Trace | undefined {
  for (const value of values) {
    if (isTraced(value)) return value.trace;
    if (Array.isArray(value) && depth < 8) {
      const found = traceIn(value, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

function dispatch(op: TensorOpName, args: readonly unknown[]): any {
  // Inside a build, an op on the plan's state (a parameter or variable) is recorded too:
  // computing it now would freeze the state's build-time value into the plan.
  const active = activeTrace();
  const trace = traceIn(args) ?? (active?.readsState(args) ? active : undefined);
  return trace ? trace.call(op, args) : tfOps[op](...args);
}

type Ops = { readonly [K in TensorOpName]: (...args: any[]) => any };

export interface Functional extends Ops {
  /**
   * Gradients of `target` with respect to each of `wrt` (the plan's arguments or
   * parameters), in order. Only inside a plan: the worker computes them when the plan
   * runs (the `grads` plan op). Outside one, use tf.grads / tf.variableGrads.
   */
  grads(target: any, wrt: readonly any[]): any[];
  /**
   * `state ← value` for a parameter or tf.Variable. Inside a plan it is recorded (the
   * `assign` plan op, applied when a run succeeds); outside one it assigns at once.
   */
  assign(state: tf.Tensor, value: any): void;
  /** Mean squared error over all elements: mean((output − target)²). */
  mseLoss(output: any, target: any): any;
  /** Softmax cross-entropy of logits against one-hot (or probability) targets, averaged over the batch (last axis = classes). */
  softmaxCrossEntropy(logits: any, targets: any): any;
}

const ops = Object.fromEntries((Object.keys(TENSOR_OPS) as TensorOpName[]).map((op) => [op, (...args: unknown[]) => dispatch(op, args)]));

export const F: Functional = Object.freeze({
  ...(ops as unknown as Ops),
  grads(target: any, wrt: readonly any[]): any[] {
    const trace = isTraced(target) ? target.trace : activeTrace();
    if (!trace) throw new FedsimError('F.grads records a gradient step inside a Plan (func2plan, a Plan subclass or trainingPlan); outside a plan use tf.grads or tf.variableGrads.');
    return trace.grads(target, wrt);
  },
  assign(state: tf.Tensor, value: any): void {
    const trace = isTraced(value) ? value.trace : activeTrace();
    if (trace) return trace.assign(state, value);
    if (!isVariable(state)) throw new FedsimError(`F.assign: outside a plan the target must be a tf.Variable (got a tensor of shape [${(state as tf.Tensor)?.shape}]).`);
    state.assign(value);
  },
  mseLoss(output: any, target: any): any {
    return F.mean(F.squaredDifference(output, target));
  },
  softmaxCrossEntropy(logits: any, targets: any): any {
    return F.neg(F.mean(F.sum(F.mul(targets, F.logSoftmax(logits)), -1)));
  },
});

// Op methods on traced tensors, as on pointers and tf.Tensors: `x.add(y)` is `F.add(x, y)`.
for (const op of METHOD_OPS) {
  const method = function (this: TracedTensor, ...args: unknown[]) {
    return dispatch(op, [this, ...args]);
  };
  Object.defineProperty(method, 'name', { value: op });
  Object.defineProperty(TracedTensor.prototype, op, { value: method, writable: true, configurable: true });
}
