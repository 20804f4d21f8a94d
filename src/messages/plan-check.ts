/**
 * Structural checks of a plan, run by a worker before it stores a plan (and by the
 * builder, as a sanity check) — never while executing one, so that a plan either
 * is refused as a whole, with nothing stored, or runs op by op without surprises.
 *
 * A plan is accepted when every op is a tfjs op of the allow-list (with its arity and
 * number of results) or a plan op (grads, assign) used as documented in
 * plan-schema.ts, and every name resolves: reads name an argument, a state tensor
 * or an output of an *earlier* op, and each name is written once.
 */
import { expectedOutputs, isTensorOp, TENSOR_OPS } from './ops.js';
import { type PlanDefinition, type PlanOp, refsIn, refsReadBy } from './plan-schema.js';

export interface PlanProblem {
  /** Index of the offending op in the op list, when one op is at fault. */
  opIndex?: number;
  message: string;
}

type Kind = 'argument' | 'state' | 'op';

const ALLOWED = 'Plans may use the tfjs ops of fedsim\'s allow-list (TENSOR_OPS: add, matMul, relu, logSoftmax, …) and the plan ops grads and assign';

/** The first problem found, or undefined when the plan is well formed. */
export function checkPlan(plan: PlanDefinition): PlanProblem | undefined {
  const kinds = new Map<string, Kind>();
  const producer = new Map<string, number>();
  const assignedAt = new Map<string, number>();
  for (const arg of plan.args) {
    if (kinds.has(arg.name)) return { message: `argument name '${arg.name}' is used twice` };
    kinds.set(arg.name, 'argument');
  }
  for (const name of plan.stateNames) {
    if (kinds.has(name)) return { message: `state name '${name}' is used twice (or is also an argument's name)` };
    kinds.set(name, 'state');
  }
  for (let i = 0; i < plan.ops.length; i++) {
    const op = plan.ops[i];
    const where = `op #${i} (${op.op})`;
    const problem = (message: string): PlanProblem => ({ opIndex: i, message: `${where}: ${message}` });
    for (const ref of refsReadBy(op)) {
      if (!kinds.has(ref)) return problem(`reads '${ref}', which is not an argument, a state tensor or an output of an earlier op`);
      if (assignedAt.has(ref)) return problem(`reads state '${ref}' after op #${assignedAt.get(ref)} assigned it; read the assigned value instead`);
    }
    const found = isTensorOp(op.op) ? checkTensorOp(op) : op.op === 'grads' ? checkGrads(plan, op, kinds, producer) : op.op === 'assign' ? checkAssign(op, kinds, assignedAt, i) : `'${op.op}' is not an allowed op. ${ALLOWED}`;
    if (found) return problem(found);
    for (const name of op.outputs) {
      if (kinds.has(name)) return problem(`writes '${name}', which is already defined; every value of a plan is written once`);
      kinds.set(name, 'op');
      producer.set(name, i);
    }
  }
  for (const ref of plan.outputs) {
    if (!kinds.has(ref)) return { message: `the plan returns '${ref}', which is not an argument, a state tensor or an op output` };
    if (assignedAt.has(ref)) return { message: `the plan returns state '${ref}', which op #${assignedAt.get(ref)} assigns; return the assigned value instead` };
  }
  return undefined;
}

function checkTensorOp(op: PlanOp): string | undefined {
  if (op.attrs && Object.keys(op.attrs).length > 0) return `tfjs ops take no attrs (got ${Object.keys(op.attrs).join(', ')}); pass every argument positionally in inputs`;
  const spec = TENSOR_OPS[op.op as keyof typeof TENSOR_OPS];
  if (op.inputs.length < spec.min || op.inputs.length > spec.max) {
    return `takes ${spec.min === spec.max ? spec.min : `${spec.min} to ${spec.max}`} input(s), got ${op.inputs.length}`;
  }
  const outputs = expectedOutputs(op.op, op.inputs);
  if (outputs === undefined || outputs !== op.outputs.length) return `produces ${outputs ?? 'an unknown number of'} result(s) but names ${op.outputs.length} output(s)`;
  return undefined;
}

function checkAssign(op: PlanOp, kinds: Map<string, Kind>, assignedAt: Map<string, number>, index: number): string | undefined {
  const [target, value] = op.inputs;
  if (op.inputs.length !== 2 || !isRef(target) || !isRef(value)) return 'takes two refs: the state tensor to assign and its new value';
  if (kinds.get(target.ref) !== 'state') return `can only assign the plan's state tensors, and '${target.ref}' is ${kinds.get(target.ref) === 'argument' ? 'an argument' : 'an op output'}`;
  if (op.outputs.length !== 0) return 'produces no result; remove its outputs';
  if (op.attrs && Object.keys(op.attrs).length > 0) return 'takes no attrs';
  assignedAt.set(target.ref, index);
  return undefined;
}

function checkGrads(plan: PlanDefinition, op: PlanOp, kinds: Map<string, Kind>, producer: Map<string, number>): string | undefined {
  const [target] = op.inputs;
  if (op.inputs.length !== 1 || !isRef(target)) return 'takes one input: a ref to the value to differentiate';
  if (kinds.get(target.ref) !== 'op') return `differentiates '${target.ref}', which is not computed by an earlier op`;
  const extra = Object.keys(op.attrs ?? {}).filter((k) => k !== 'wrt');
  if (extra.length > 0) return `unknown attrs ${extra.join(', ')}; grads takes only wrt`;
  const wrtArg = op.attrs?.wrt;
  const wrt = Array.isArray(wrtArg) && wrtArg.length > 0 && wrtArg.every(isRef) ? refsIn(wrtArg) : undefined;
  if (!wrt) return 'needs attrs.wrt: a non-empty list of refs to arguments or state tensors';
  if (new Set(wrt).size !== wrt.length) return `names a value twice in wrt [${wrt.join(', ')}]`;
  for (const ref of wrt) if (kinds.get(ref) === 'op') return `takes gradients with respect to arguments and state tensors only; '${ref}' is an op output`;
  if (op.outputs.length !== wrt.length) return `produces one gradient per wrt value (${wrt.length}) but names ${op.outputs.length} output(s)`;
  // Walk the sub-graph the target depends on: it must reach every wrt value, and contain no other grads.
  const leaves = new Set<string>();
  const seen = new Set<number>();
  const stack = [target.ref];
  while (stack.length > 0) {
    const ref = stack.pop()!;
    const at = producer.get(ref);
    if (at === undefined) {
      leaves.add(ref);
      continue;
    }
    if (seen.has(at)) continue;
    seen.add(at);
    if (plan.ops[at].op === 'grads') return `differentiates through op #${at} (grads); gradients of gradients are not supported`;
    stack.push(...refsReadBy(plan.ops[at]));
  }
  const unreachable = wrt.filter((ref) => !leaves.has(ref));
  if (unreachable.length > 0) return `'${target.ref}' does not depend on ${unreachable.map((r) => `'${r}'`).join(', ')}, so there is no gradient with respect to ${unreachable.length > 1 ? 'them' : 'it'}`;
  return undefined;
}

function isRef(arg: unknown): arg is { ref: string } {
  return typeof arg === 'object' && arg !== null && !Array.isArray(arg) && typeof (arg as { ref?: unknown }).ref === 'string';
}
