/**
 * The wire form of a Plan: a function recorded once as a list of tensor ops, sent to
 * a worker and run there by reference (seed 002, section 2).
 *
 * A plan is plain JSON plus its state tensors:
 *
 *   { name, args: [{name, shape?, dtype?}], state: [{name, tensor}],
 *     ops: [{op, inputs, attrs?, outputs}], outputs: [ref] }
 *
 * Every value inside a plan has a name: an argument (`x`), a state tensor
 * (`fc1.weight`) or an op output (`%5`). `inputs` are positional, exactly as the tfjs
 * function takes them: `{ref: name}` for a value of the plan, and JSON literals for
 * everything else (axes, shapes, scalars) — the same convention as the `command`
 * message, so a plan op is a command whose arguments live inside the plan.
 *
 * Besides the tfjs ops of the allow-list (ops.ts), a plan may use two plan ops:
 *
 * - `grads`: `%g1, %g2 = grads(%loss, wrt=[w, b])` — the gradient of `%loss` (summed,
 *   like tfjs's default dy of ones) with respect to arguments or state tensors
 *   (`attrs.wrt`). The worker evaluates it with `tf.valueAndGrads` over the recorded
 *   sub-graph that leads from the `wrt` values to `%loss`.
 * - `assign`: `assign(w, %new)` — the plan's state tensor `w` holds `%new` once the
 *   run succeeds (a failed run changes no state). A state tensor is assigned at most
 *   once per run and not read after its assignment.
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { DTypeSchema, TensorSchema } from './schema-primitives.js';

/** Names of values inside a plan: an argument, a state tensor, or an op output (`%3`). */
export const PlanRefSchema = z.string().regex(/^[A-Za-z_%][A-Za-z0-9_.%/-]{0,63}$/, 'a plan value name: a letter, _ or %, then up to 63 of A–Z a–z 0–9 _ . % / -');

/** An op input: `{ref}` names a value of the plan; anything else is a JSON literal, as in a command. */
export type PlanArg = number | string | boolean | null | { ref: string } | PlanArg[];
export const PlanArgSchema: z.ZodType<PlanArg> = z.union([
  z.strictObject({ ref: PlanRefSchema }),
  z.number(),
  z.string().max(4096),
  z.boolean(),
  z.null(),
  z.array(z.lazy(() => PlanArgSchema)).max(100_000),
]);

export const PlanOpSchema = z.strictObject({
  op: z.string().min(1).max(64),
  inputs: z.array(PlanArgSchema).max(64),
  /** Named attributes of plan ops (`grads` has `wrt`); tfjs ops take everything positionally in `inputs`. */
  attrs: z.record(z.string().max(64), PlanArgSchema).optional(),
  outputs: z.array(PlanRefSchema).max(1024),
});
export type PlanOp = z.infer<typeof PlanOpSchema>;

/** An argument's name and the shape it was built for (−1: any size), for display and for the caller. */
export const PlanArgSpecSchema = z.strictObject({
  name: PlanRefSchema,
  shape: z.array(z.number().int().min(-1)).max(16).optional(),
  dtype: DTypeSchema.optional(),
});
export type PlanArgSpec = z.infer<typeof PlanArgSpecSchema>;

export const PlanStateEntrySchema = z.strictObject({ name: PlanRefSchema, tensor: TensorSchema });

export const PlanSchema = z.strictObject({
  name: z.string().min(1).max(128),
  args: z.array(PlanArgSpecSchema).max(64),
  state: z.array(PlanStateEntrySchema).max(65_536),
  ops: z.array(PlanOpSchema).max(100_000),
  outputs: z.array(PlanRefSchema).min(1).max(64),
});
/** A plan as it crosses the wire: its definition and its state tensors (owned by the message). */
export type PlanWire = z.infer<typeof PlanSchema>;

/** A plan without its tensors: what is checked, compiled, printed and run. */
export interface PlanDefinition {
  readonly name: string;
  readonly args: readonly PlanArgSpec[];
  /** Names of the state tensors, in the order they travel. */
  readonly stateNames: readonly string[];
  readonly ops: readonly PlanOp[];
  readonly outputs: readonly string[];
}

/** The ops a plan may use besides the tfjs ops of the allow-list. */
export const PLAN_OPS = ['grads', 'assign'] as const;
export type PlanOpName = (typeof PLAN_OPS)[number];

export function isPlanOp(name: string): name is PlanOpName {
  return (PLAN_OPS as readonly string[]).includes(name);
}

/** Splits a wire plan into its definition and its state (the tensors are not copied). */
export function splitPlan(wire: PlanWire): { definition: PlanDefinition; state: Map<string, tf.Tensor> } {
  const definition: PlanDefinition = { name: wire.name, args: wire.args, stateNames: wire.state.map((s) => s.name), ops: wire.ops, outputs: wire.outputs };
  return { definition, state: new Map(wire.state.map((s) => [s.name, s.tensor])) };
}

/** The wire form of a definition with these state tensors (taken as they are: the caller decides on copies). */
export function joinPlan(definition: PlanDefinition, state: ReadonlyMap<string, tf.Tensor>): PlanWire {
  return {
    name: definition.name,
    args: definition.args.map((a) => ({ ...a, ...(a.shape ? { shape: [...a.shape] } : {}) })),
    state: definition.stateNames.map((name) => ({ name, tensor: state.get(name)! })),
    ops: definition.ops as PlanOp[],
    outputs: [...definition.outputs],
  };
}

/** Refs read by a plan input (depth-first, in order). */
export function refsIn(arg: PlanArg, out: string[] = []): string[] {
  if (Array.isArray(arg)) for (const a of arg) refsIn(a, out);
  else if (arg !== null && typeof arg === 'object') out.push(arg.ref);
  return out;
}

/** Every ref an op reads: its inputs, then its attributes (grads' `wrt`). */
export function refsReadBy(op: PlanOp): string[] {
  const out: string[] = [];
  for (const input of op.inputs) refsIn(input, out);
  if (op.attrs) for (const key of Object.keys(op.attrs).sort()) refsIn(op.attrs[key], out);
  return out;
}
