/**
 * Plans as people read them:
 *
 *   Plan calcu(x, y):
 *     %2 = add(x, y)
 *     %3 = div(%2, 2)
 *     return %3
 *
 * Values print by name (arguments, state tensors, `%n` for op outputs), literals as
 * JSON. The same text names ops in error messages, so an error points at a line the
 * user has seen in `plan.toString()`.
 */
import type { PlanArg, PlanDefinition, PlanOp } from './plan-schema.js';

export function formatPlanArg(arg: PlanArg): string {
  if (Array.isArray(arg)) return `[${arg.map(formatPlanArg).join(', ')}]`;
  if (arg !== null && typeof arg === 'object') return arg.ref;
  return JSON.stringify(arg);
}

/** One op as a line: `%3 = div(%2, 2)`, `%7, %8 = grads(%6, wrt=[w, b])`, `assign(w, %9)`. */
export function formatPlanOp(op: PlanOp): string {
  const args = op.inputs.map(formatPlanArg);
  if (op.attrs) for (const key of Object.keys(op.attrs)) args.push(`${key}=${formatPlanArg(op.attrs[key])}`);
  const call = `${op.op}(${args.join(', ')})`;
  return op.outputs.length === 0 ? call : `${op.outputs.join(', ')} = ${call}`;
}

export interface StateDescription {
  dtype: string;
  shape: readonly number[];
}

/** The whole plan; `describeState` adds a line per state tensor (`state fc1.weight: float32[2, 3]`). */
export function formatPlan(plan: PlanDefinition, describeState?: (name: string) => StateDescription | undefined): string {
  const lines = [`Plan ${plan.name}(${plan.args.map((a) => a.name).join(', ')}):`];
  for (const name of plan.stateNames) {
    const d = describeState?.(name);
    lines.push(d ? `  state ${name}: ${d.dtype}[${d.shape.join(', ')}]` : `  state ${name}`);
  }
  for (const op of plan.ops) lines.push(`  ${formatPlanOp(op)}`);
  lines.push(`  return ${plan.outputs.join(', ')}`);
  return lines.join('\n');
}
