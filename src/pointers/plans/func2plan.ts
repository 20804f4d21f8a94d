/**
 * func2plan: a plan from a function, PySyft's `@sy.func2plan(args_shape=...)`.
 *
 *   const calcu = func2plan((x, y) => x.add(y).div(2), { argsShape: [[-1], [-1]] });
 *   calcu.toString();   // Plan calcu(x, y): %2 = add(x, y); %3 = div(%2, 2); return %3
 *
 * With `argsShape` the plan is built at once, on placeholders of those shapes (−1:
 * any size, traced as 1); without, build it with example arguments:
 * `plan.build(x, y)`. The function runs unchanged on tf.Tensors too, so the plan's
 * results can be checked against it bit for bit.
 */
import type * as tf from '@tensorflow/tfjs';
import type { RandomStream } from '../../runtime/index.js';
import { Plan } from './plan.js';

export interface Func2PlanOptions {
  /** Shapes of the arguments (−1 for any size): builds the plan at once. */
  argsShape?: ReadonlyArray<readonly number[]>;
  /** Their dtypes (default float32). */
  argsDtype?: ReadonlyArray<tf.DataType>;
  /** Default: the function's name. */
  name?: string;
  /** Default: read from the function's parameter list. */
  argNames?: readonly string[];
  /** Named state tensors declared up front (by reference, e.g. a model's parameters), before any the function captures. */
  state?: ReadonlyArray<readonly [string, tf.Tensor]>;
  rng?: RandomStream;
}

export function func2plan(fn: (...args: any[]) => unknown, options: Func2PlanOptions = {}): Plan {
  if (typeof fn !== 'function') throw new TypeError(`func2plan: expected a function, got ${Object.prototype.toString.call(fn)}`);
  const plan = new Plan({ name: options.name ?? (fn.name || 'plan'), fn, argNames: options.argNames, state: options.state, rng: options.rng });
  if (options.argsShape) plan.buildFromShapes(options.argsShape, options.argsDtype);
  return plan;
}
