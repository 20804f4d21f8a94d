/**
 * The op catalogue: which operations a `command` may name, and how many arguments each takes.
 *
 * Two kinds of op exist. *Tensor ops* are tfjs functions run by name on the worker
 * (`tf[op](...args)`); the catalogue is an allow-list, so a message cannot make a
 * worker call anything else in the tfjs namespace (or on Object.prototype). *Worker
 * ops* are the remote-object verbs tfjs has no function for: copy, grad, in-place
 * assignment to variables, zeroGrad.
 *
 * Arity counts every positional argument, tensors and literals alike, as tfjs's own
 * signature does; the worker rejects a command outside [min, max] before running it.
 */

export interface OpSpec {
  readonly min: number;
  readonly max: number;
  /** Offered as a method on pointers (`ptr.add(y)`): the first argument is the tensor itself. */
  readonly method: boolean;
  /** Number of result tensors, when it depends on the arguments (e.g. split); default 1. */
  readonly outputs?: (args: readonly unknown[]) => number | undefined;
}

const op = (min: number, max: number, method = true): OpSpec => ({ min, max, method });
const unary = op(1, 1);
const binary = op(2, 2);
const reduction = op(1, 3);

/** tfjs functions callable remotely, by their tfjs names. */
export const TENSOR_OPS = {
  // element-wise, one input
  abs: unary, acos: unary, acosh: unary, asin: unary, asinh: unary, atan: unary, atanh: unary,
  ceil: unary, clone: unary, cos: unary, cosh: unary, elu: unary, erf: unary, exp: unary, expm1: unary,
  floor: unary, isFinite: unary, isInf: unary, isNaN: unary, log: unary, log1p: unary, logicalNot: unary,
  logSigmoid: unary, neg: unary, onesLike: unary, reciprocal: unary, relu: unary, relu6: unary,
  round: unary, rsqrt: unary, selu: unary, sigmoid: unary, sign: unary, sin: unary, sinh: unary,
  softplus: unary, sqrt: unary, square: unary, tan: unary, tanh: unary, zerosLike: unary,
  leakyRelu: op(1, 2), step: op(1, 2), softmax: op(1, 2), logSoftmax: op(1, 2),
  // element-wise, two inputs (broadcasting)
  add: binary, sub: binary, mul: binary, div: binary, divNoNan: binary, floorDiv: binary, mod: binary,
  pow: binary, maximum: binary, minimum: binary, squaredDifference: binary, atan2: binary,
  equal: binary, notEqual: binary, less: binary, lessEqual: binary, greater: binary, greaterEqual: binary,
  logicalAnd: binary, logicalOr: binary, logicalXor: binary, prelu: binary,
  // linear algebra
  matMul: op(2, 4), dot: binary, outerProduct: binary,
  // reductions
  sum: reduction, mean: reduction, max: reduction, min: reduction, prod: reduction, all: reduction,
  any: reduction, logSumExp: reduction, argMax: op(1, 2), argMin: op(1, 2), norm: op(1, 4), cumsum: op(1, 4),
  // shape and indexing
  reshape: binary, transpose: op(1, 2), expandDims: op(1, 2), squeeze: op(1, 2), slice: op(2, 3),
  tile: binary, pad: op(2, 3), reverse: op(1, 2), gather: op(2, 4), cast: binary, broadcastTo: binary,
  clipByValue: op(3, 3), oneHot: op(2, 5), where: op(3, 3, false),
  concat: op(1, 2, false), stack: op(1, 2, false),
  split: { min: 2, max: 3, method: true, outputs: (args) => (typeof args[1] === 'number' ? args[1] : Array.isArray(args[1]) ? args[1].length : undefined) },
  // neural-network layers as functions
  conv1d: op(3, 7), conv2d: op(4, 8), maxPool: op(4, 6), avgPool: op(4, 6),
} as const satisfies Record<string, OpSpec>;

export type TensorOpName = keyof typeof TENSOR_OPS;

/** Ops of remote objects rather than of tensors. */
export const WORKER_OPS = {
  /** A new remote object holding the same values (new id); tracked like `clone`. */
  copy: op(1, 1),
  /** A snapshot of the gradient accumulated on a tracked tensor. */
  grad: op(1, 1),
  /** In place on a remote tf.Variable: no result ids. */
  assign: op(2, 2),
  assignAdd: op(2, 2),
  assignSub: op(2, 2),
  /** Forgets a tracked tensor's accumulated gradient: no result ids. */
  zeroGrad: op(1, 1),
} as const satisfies Record<string, OpSpec>;

export type WorkerOpName = keyof typeof WORKER_OPS;
export type OpName = TensorOpName | WorkerOpName;

/** Worker ops that change an object in place and produce no result. */
export const IN_PLACE_OPS: ReadonlySet<string> = new Set<WorkerOpName>(['assign', 'assignAdd', 'assignSub', 'zeroGrad']);

export function isTensorOp(name: string): name is TensorOpName {
  return Object.hasOwn(TENSOR_OPS, name);
}

export function isWorkerOp(name: string): name is WorkerOpName {
  return Object.hasOwn(WORKER_OPS, name);
}

export function opSpec(name: string): OpSpec | undefined {
  if (isTensorOp(name)) return TENSOR_OPS[name];
  if (isWorkerOp(name)) return WORKER_OPS[name];
  return undefined;
}

/** How many result ids a call of `name` with these (wire) arguments must name; undefined when it cannot be known. */
export function expectedOutputs(name: string, args: readonly unknown[]): number | undefined {
  if (IN_PLACE_OPS.has(name)) return 0;
  const spec = opSpec(name);
  return spec?.outputs ? spec.outputs(args) : 1;
}

/**
 * Which arguments of an op are tensors. Everything else an op reads is a number, a shape, an
 * axis or a flag — and must be a literal, never a stored object: a stored tensor there would
 * make sizes (and so allocations, errors and their texts) depend on its values, which may be
 * private. Workers refuse a reference anywhere but in a tensor position.
 */
const TENSOR_ARGS: Record<string, number> = {
  add: 2, sub: 2, mul: 2, div: 2, divNoNan: 2, floorDiv: 2, mod: 2, pow: 2, maximum: 2, minimum: 2, squaredDifference: 2, atan2: 2,
  equal: 2, notEqual: 2, less: 2, lessEqual: 2, greater: 2, greaterEqual: 2, logicalAnd: 2, logicalOr: 2, logicalXor: 2, prelu: 2,
  matMul: 2, dot: 2, outerProduct: 2, gather: 2, where: 3, conv1d: 2, conv2d: 2, assign: 2, assignAdd: 2, assignSub: 2,
};
/** Ops whose first argument is a list of tensors. */
const TENSOR_LIST_OPS: ReadonlySet<string> = new Set(['concat', 'stack']);

/** 'tensor' (a tensor or a literal), 'tensors' (a list of them) or 'literal' (a literal only) for argument `index` of `op`. */
export function argumentKind(op: string, index: number): 'tensor' | 'tensors' | 'literal' {
  if (TENSOR_LIST_OPS.has(op)) return index === 0 ? 'tensors' : 'literal';
  return index < (TENSOR_ARGS[op] ?? 1) ? 'tensor' : 'literal';
}

/** Names of tensor ops offered as pointer methods. */
export const METHOD_OPS = (Object.keys(TENSOR_OPS) as TensorOpName[]).filter((name) => TENSOR_OPS[name].method);
