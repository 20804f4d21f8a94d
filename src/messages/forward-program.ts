/**
 * A forward program: how a worker computes a model's outputs, as plain data.
 *
 * A model sent to a worker (`model.send(bob)`) travels as its parameters plus this
 * program — a list of steps, each one allow-listed tfjs op whose arguments name the
 * model's input, one of its parameters, an earlier step's output, or a JSON literal.
 * The last step's output is the model's output.
 *
 * Why a program and not the model spec: the worker then needs no knowledge of model
 * kinds (the FL layer, which knows them, compiles specs to programs; see
 * src/fl/remote), runs nothing but the ops of the same allow-list as `command`, and
 * records every step on its autograd tape like any other op — so `loss.backward()` on
 * a loss computed from `modelPtr.forward(x)` fills the parameters' gradients with no
 * special path. A program is also JSON, so it crosses a real wire unchanged.
 */
import { z } from 'zod';
import { TENSOR_OPS, type TensorOpName } from './ops.js';

/** An argument of a step: a reference (`{input}`, `{param}`, `{step}`) or a JSON literal, nested in arrays as tfjs takes them. */
export type ForwardArg = number | string | boolean | null | { input: true } | { param: number } | { step: number } | ForwardArg[];

const index = z.number().int().nonnegative().max(1_000_000);
export const ForwardArgSchema: z.ZodType<ForwardArg> = z.union([
  z.strictObject({ input: z.literal(true) }),
  z.strictObject({ param: index }),
  z.strictObject({ step: index }),
  z.number(),
  z.string().max(256),
  z.boolean(),
  z.null(),
  z.array(z.lazy(() => ForwardArgSchema)).max(64),
]);

export const ForwardStepSchema = z.strictObject({ op: z.string().min(1).max(64), args: z.array(ForwardArgSchema).max(16) });
export type ForwardStep = z.infer<typeof ForwardStepSchema>;

export const ForwardProgramSchema = z.strictObject({
  /** What the model is, for messages and listings (e.g. `linear(2→1)`). */
  name: z.string().min(1).max(128),
  /** The input's shape, batch dimension included; −1 matches any size (e.g. [-1, 784]). */
  input: z.array(z.number().int().min(-1)).min(1).max(16),
  /** Parameter names and shapes, in the order `{param: i}` counts them. */
  params: z.array(z.strictObject({ name: z.string().min(1).max(256), shape: z.array(z.number().int().nonnegative()).max(16) })).max(4096),
  steps: z.array(ForwardStepSchema).min(1).max(10_000),
});
export type ForwardProgram = z.infer<typeof ForwardProgramSchema>;

function refsOf(arg: ForwardArg, visit: (ref: { param?: number; step?: number }) => void): void {
  if (Array.isArray(arg)) for (const a of arg) refsOf(a, visit);
  else if (arg !== null && typeof arg === 'object' && !('input' in arg)) visit(arg);
}

/**
 * What is wrong with a program that passed its schema, or undefined: an op outside the
 * allow-list (or one with several outputs), a wrong number of arguments, a reference
 * to a parameter that does not exist or to a step that has not run yet.
 */
export function forwardProgramProblem(program: ForwardProgram): string | undefined {
  for (let i = 0; i < program.steps.length; i++) {
    const { op, args } = program.steps[i];
    if (!Object.hasOwn(TENSOR_OPS, op)) return `step ${i} uses '${op}', which is not a tfjs op of the allow-list (TENSOR_OPS)`;
    if (op === 'split') return `step ${i} uses 'split', which has several outputs; a step must produce one tensor`;
    const spec = TENSOR_OPS[op as TensorOpName];
    if (args.length < spec.min || args.length > spec.max) return `step ${i} calls ${op} with ${args.length} argument(s); it takes ${spec.min === spec.max ? spec.min : `${spec.min} to ${spec.max}`}`;
    let problem: string | undefined;
    refsOf(args as ForwardArg, (ref) => {
      if (problem) return;
      if (ref.param !== undefined && ref.param >= program.params.length) problem = `step ${i} (${op}) reads parameter ${ref.param}, but the program has ${program.params.length}`;
      if (ref.step !== undefined && ref.step >= i) problem = `step ${i} (${op}) reads step ${ref.step}, which has not run yet (a step may only read earlier steps)`;
    });
    if (problem) return problem;
  }
  return undefined;
}

/** Why a tensor of `actual` shape cannot be the input of a program expecting `expected` (−1: any size), or undefined. */
export function inputShapeProblem(expected: readonly number[], actual: readonly number[]): string | undefined {
  const fits = expected.length === actual.length && expected.every((d, i) => d === -1 || d === actual[i]);
  if (fits) return undefined;
  const shown = `[${expected.map((d) => (d === -1 ? 'n' : d)).join(', ')}]`;
  return `the input has shape [${actual.join(', ')}], but the model takes ${shown}`;
}

/** Step `index` as one line (`%1 = add(%0, linear/bias)`), for error messages. */
export function formatForwardStep(program: ForwardProgram, index: number): string {
  const show = (arg: ForwardArg): string => {
    if (Array.isArray(arg)) return `[${arg.map(show).join(', ')}]`;
    if (arg === null || typeof arg !== 'object') return JSON.stringify(arg);
    if ('input' in arg) return 'x';
    if ('param' in arg) return program.params[arg.param]?.name ?? `param${arg.param}`;
    return `%${arg.step}`;
  };
  const { op, args } = program.steps[index];
  return `%${index} = ${op}(${(args as ForwardArg[]).map(show).join(', ')})`;
}

/** The whole program, one line per step, for listings. */
export function formatForwardProgram(program: ForwardProgram): string {
  return program.steps.map((_, i) => formatForwardStep(program, i)).join('\n');
}
