/**
 * One optimiser update of one parameter, as tensors: the rules of optimizer-rule.ts,
 * computed in float32 by tfjs, in PyTorch's operation order.
 *
 * Pure: takes the parameter, its gradient and the slot's previous state, returns the
 * parameter's next value and the slot's next state (new tensors the caller owns).
 * The caller commits them only once every slot of the step has been computed, so a
 * step that fails part-way changes nothing.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdamRule, OptimizerRule, SgdRule } from '../messages/index.js';

export interface SlotUpdate {
  next: tf.Tensor;
  /** State by name (`momentum`, or `m` and `v`). */
  state: Map<string, tf.Tensor>;
}

function withDecay(param: tf.Tensor, grad: tf.Tensor, weightDecay: number): tf.Tensor {
  return weightDecay === 0 ? grad : tf.add(grad, tf.mul(param, weightDecay));
}

function sgd(rule: SgdRule, param: tf.Tensor, grad: tf.Tensor, previous: ReadonlyMap<string, tf.Tensor>): SlotUpdate {
  let g = withDecay(param, grad, rule.weightDecay);
  const state = new Map<string, tf.Tensor>();
  if (rule.momentum > 0) {
    const old = previous.get('momentum');
    // PyTorch: the first buffer is the gradient itself (no dampening), later ones μb + (1−τ)g.
    const buffer = old ? tf.add(tf.mul(old, rule.momentum), tf.mul(g, 1 - rule.dampening)) : tf.clone(g);
    state.set('momentum', buffer);
    g = rule.nesterov ? tf.add(g, tf.mul(buffer, rule.momentum)) : buffer;
  }
  return { next: tf.sub(param, tf.mul(g, rule.lr)), state };
}

function adam(rule: AdamRule, param: tf.Tensor, grad: tf.Tensor, previous: ReadonlyMap<string, tf.Tensor>, step: number): SlotUpdate {
  const g = withDecay(param, grad, rule.weightDecay);
  const oldM = previous.get('m');
  const oldV = previous.get('v');
  const m = oldM ? tf.add(tf.mul(oldM, rule.beta1), tf.mul(g, 1 - rule.beta1)) : tf.mul(g, 1 - rule.beta1);
  const v = oldV ? tf.add(tf.mul(oldV, rule.beta2), tf.mul(tf.square(g), 1 - rule.beta2)) : tf.mul(tf.square(g), 1 - rule.beta2);
  // Bias corrections in float64 (they are scalars), as PyTorch computes them in Python floats.
  const c1 = 1 - Math.pow(rule.beta1, step);
  const c2 = 1 - Math.pow(rule.beta2, step);
  const denominator = tf.add(tf.div(tf.sqrt(v), Math.sqrt(c2)), rule.eps);
  const next = tf.sub(param, tf.mul(tf.div(m, denominator), rule.lr / c1));
  return { next, state: new Map([['m', m], ['v', v]]) };
}

/**
 * The update of one slot. `step` is the slot's step number counting this one (Adam's t).
 * Runs in its own tf.tidy: only the returned tensors survive.
 */
export function computeUpdate(rule: OptimizerRule, param: tf.Tensor, grad: tf.Tensor, previous: ReadonlyMap<string, tf.Tensor>, step: number): SlotUpdate {
  const names: string[] = [];
  // tf.tidy keeps the tensors of an array it returns (not of a Map): return a list, rebuild the map after.
  const [next, ...state] = tf.tidy(() => {
    const update = rule.name === 'sgd' ? sgd(rule, param, grad, previous) : adam(rule, param, grad, previous, step);
    names.push(...update.state.keys());
    return [update.next, ...update.state.values()];
  });
  return { next, state: new Map(names.map((name, i) => [name, state[i]])) };
}
