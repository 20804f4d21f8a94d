/**
 * A built plan called inside another plan's build: its op list is replayed through
 * `F`, so the enclosing trace records the same ops (plans compose like functions).
 * Its state tensors are passed as they are; the enclosing trace shares parameters
 * and variables by reference and copies constants, as for any tensor it meets.
 */
import type * as tf from '@tensorflow/tfjs';
import type { PlanArg, PlanDefinition } from '../../messages/index.js';
import { F } from './functional.js';

type OpFn = (...args: unknown[]) => unknown;

export function replayInTrace(definition: PlanDefinition, state: ReadonlyMap<string, tf.Tensor>, args: readonly unknown[]): any {
  const env = new Map<string, unknown>(state);
  definition.args.forEach((a, i) => env.set(a.name, args[i]));
  const value = (arg: PlanArg): unknown => (Array.isArray(arg) ? arg.map(value) : arg !== null && typeof arg === 'object' ? env.get(arg.ref) : arg);
  for (const op of definition.ops) {
    if (op.op === 'assign') {
      F.assign(env.get((op.inputs[0] as { ref: string }).ref) as tf.Tensor, value(op.inputs[1]));
      continue;
    }
    const result = op.op === 'grads' ? F.grads(value(op.inputs[0]), value(op.attrs!.wrt) as unknown[]) : (F as unknown as Record<string, OpFn>)[op.op](...op.inputs.map(value));
    const list = Array.isArray(result) ? result : [result];
    op.outputs.forEach((ref, k) => env.set(ref, list[k]));
  }
  const outputs = definition.outputs.map((ref) => env.get(ref));
  return outputs.length === 1 ? outputs[0] : outputs;
}
