/**
 * Remote autograd through plans: when a pure plan (no grads, no assign) runs on
 * tracked tensors, its ops go on the worker's autograd tape one by one, as if they
 * had arrived as separate commands. So `planPtr(xPtr).sum().backward()` fills
 * `xPtr.grad` exactly as the op-by-op computation would. The plan's state tensors
 * enter the tape as constants (snapshots): to train them, use a training plan.
 */
import * as tf from '@tensorflow/tfjs';
import { type PlanArg, refsIn, refsReadBy } from '../messages/index.js';
import { entryInput, TapeCall, type TapeInput, type TapeRef } from './autograd.js';
import type { StoreEntry } from './object-store.js';
import type { CompiledPlan } from './plan-interpreter.js';

/** One tape reference per plan output (undefined for an output that is a state tensor: a constant). */
export function recordPlanRun(plan: CompiledPlan, argEntries: readonly StoreEntry[], state: ReadonlyMap<string, tf.Tensor>): Array<TapeRef | undefined> {
  const def = plan.definition;
  const argIndex = new Map(def.args.map((a, i) => [a.name, i]));
  // Only the ops the outputs depend on get calls: a call nobody references would never be released.
  const needed = new Set<number>();
  const stack = [...def.outputs];
  while (stack.length > 0) {
    const at = plan.producer.get(stack.pop()!);
    if (at === undefined || needed.has(at)) continue;
    needed.add(at);
    stack.push(...refsReadBy(def.ops[at]));
  }
  const calls = new Map<number, TapeCall>();
  const inputFor = (arg: PlanArg): TapeInput => {
    if (Array.isArray(arg)) return refsIn(arg).length > 0 ? { kind: 'list', items: arg.map(inputFor) } : { kind: 'lit', value: arg };
    if (arg === null || typeof arg !== 'object') return { kind: 'lit', value: arg };
    const k = argIndex.get(arg.ref);
    if (k !== undefined) return entryInput(argEntries[k]);
    const at = plan.producer.get(arg.ref);
    if (at === undefined) return { kind: 'const', value: tf.clone(state.get(arg.ref)!) };
    const call = calls.get(at)!; // earlier ops are created first: refs only point backwards
    call.retain();
    return { kind: 'call', call, index: def.ops[at].outputs.indexOf(arg.ref) };
  };
  for (const i of [...needed].sort((a, b) => a - b)) {
    const op = def.ops[i];
    calls.set(i, new TapeCall(op.op, op.inputs.map(inputFor), op.op === 'split'));
  }
  return def.outputs.map((ref) => {
    const at = plan.producer.get(ref);
    let call: TapeCall;
    let index = 0;
    if (at !== undefined) {
      call = calls.get(at)!;
      index = def.ops[at].outputs.indexOf(ref);
    } else if (argIndex.has(ref)) {
      call = new TapeCall('clone', [entryInput(argEntries[argIndex.get(ref)!])], false); // the result is a copy of an argument
    } else {
      return undefined;
    }
    call.retain();
    return { call, index };
  });
}
