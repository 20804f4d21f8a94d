/**
 * How many elements an op is about to allocate, from its inputs' shapes and its literal
 * arguments alone — before it runs — so that a worker can refuse it within its budget.
 *
 * For ops that can make more elements than they read (broadcasting, matMul, outerProduct,
 * tile, pad, oneHot, broadcastTo, gather, concat/stack, convolutions and pooling) the count is
 * the output's size — and, for convolutions, the patch matrix the kernels build, which is
 * larger. For the others it is the largest input's size, which bounds their output. Sizes are
 * computed in floating point, so a product too large for an integer still compares right.
 */
import { argumentKind, isTensor } from '../../messages/index.js';

type Shape = readonly number[];

const product = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

/** The shape of an op argument: a tensor's, a literal's (nested arrays), or null for anything else. */
function shapeOf(value: unknown): Shape | null {
  if (isTensor(value)) return value.shape;
  if (typeof value === 'number' || typeof value === 'boolean') return [];
  if (!Array.isArray(value)) return null;
  const shape: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

const sizeOf = (value: unknown): number => {
  const shape = shapeOf(value);
  return shape ? product(shape) : 0;
};

/** The broadcast of two shapes, numpy-style (a mismatch is left to the op to report; its size bound is the larger). */
function broadcast(a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    out.push(da === 1 ? db : db === 1 ? da : Math.max(da, db));
  }
  return out;
}

const numbers = (value: unknown): number[] => (Array.isArray(value) ? value.flat(4).filter((v): v is number => typeof v === 'number') : typeof value === 'number' ? [value] : []);

/** Output rows (or columns) of a window op along one dimension: `same` keeps ceil(n / stride), explicit padding adds. */
function windowed(n: number, filter: number, stride: number, dilation: number, pad: unknown): number {
  const s = Math.max(1, stride);
  if (pad === 'same') return Math.ceil(n / s);
  const extra = typeof pad === 'number' ? 2 * pad : Array.isArray(pad) ? numbers(pad).reduce((a, b) => a + Math.max(0, b), 0) : 0;
  const span = (filter - 1) * Math.max(1, dilation) + 1;
  return Math.max(0, Math.floor((n + extra - span) / s) + 1);
}

const pair = (value: unknown, fallback: number): [number, number] => {
  const list = numbers(value);
  if (list.length === 0) return [fallback, fallback];
  return [list[0], list[1] ?? list[0]];
};

/** conv2d / maxPool / avgPool over NHWC (or NCHW) input: output elements and the patch matrix a kernel may build. */
function window2d(x: Shape, filter: [number, number], inChannels: number, outChannels: number | null, strides: unknown, pad: unknown, dataFormat: unknown, dilations: unknown): number {
  if (x.length < 3) return product(x);
  const channelsFirst = dataFormat === 'NCHW';
  const batch = x.length === 4 ? x[0] : 1;
  const [h, w] = channelsFirst ? [x[x.length - 2], x[x.length - 1]] : [x[x.length - 3], x[x.length - 2]];
  const [sh, sw] = pair(strides, 1);
  const [dh, dw] = pair(dilations, 1);
  const outH = windowed(h, filter[0], sh, dh, pad);
  const outW = windowed(w, filter[1], sw, dw, pad);
  const outputs = batch * outH * outW * (outChannels ?? inChannels);
  const patches = outChannels === null ? 0 : batch * outH * outW * filter[0] * filter[1] * inChannels;
  return Math.max(outputs, patches);
}

/** Elements op `op` would allocate for these arguments (tensors in place of references). */
export function predictedElements(op: string, args: readonly unknown[]): number {
  const [a, b] = args;
  const shapeA = shapeOf(a) ?? [];
  switch (op) {
    case 'add': case 'sub': case 'mul': case 'div': case 'divNoNan': case 'floorDiv': case 'mod': case 'pow': case 'maximum': case 'minimum':
    case 'squaredDifference': case 'atan2': case 'equal': case 'notEqual': case 'less': case 'lessEqual': case 'greater': case 'greaterEqual':
    case 'logicalAnd': case 'logicalOr': case 'logicalXor': case 'prelu': case 'assign': case 'assignAdd': case 'assignSub':
      return product(broadcast(shapeA, shapeOf(b) ?? []));
    case 'where':
      return product(broadcast(broadcast(shapeA, shapeOf(b) ?? []), shapeOf(args[2]) ?? []));
    case 'matMul': {
      const shapeB = shapeOf(b) ?? [];
      if (shapeA.length < 2 || shapeB.length < 2) return Math.max(product(shapeA), product(shapeB));
      const m = args[2] === true ? shapeA[shapeA.length - 1] : shapeA[shapeA.length - 2];
      const n = args[3] === true ? shapeB[shapeB.length - 2] : shapeB[shapeB.length - 1];
      return product(broadcast(shapeA.slice(0, -2), shapeB.slice(0, -2))) * m * n;
    }
    case 'dot': {
      const shapeB = shapeOf(b) ?? [];
      if (shapeA.length === 2 && shapeB.length === 2) return shapeA[0] * shapeB[1];
      return Math.max(product(shapeA), product(shapeB));
    }
    case 'outerProduct':
      return sizeOf(a) * sizeOf(b);
    case 'tile':
      return product(shapeA) * product(numbers(b));
    case 'pad': {
      const pads = Array.isArray(b) ? b : [];
      return shapeA.reduce((acc, d, i) => acc * (d + numbers(pads[i]).reduce((x, y) => x + Math.max(0, y), 0)), 1);
    }
    case 'broadcastTo':
      return product(numbers(b));
    case 'oneHot':
      return sizeOf(a) * (typeof b === 'number' ? Math.max(0, b) : 0);
    case 'gather': {
      const rank = shapeA.length;
      const axisArg = typeof args[2] === 'number' ? args[2] : 0;
      const axis = axisArg < 0 ? axisArg + rank : axisArg;
      const along = shapeA[axis] ?? 1;
      return along === 0 ? 0 : (product(shapeA) / along) * sizeOf(b);
    }
    case 'concat':
    case 'stack':
      return Array.isArray(a) ? a.reduce((n: number, t) => n + sizeOf(t), 0) : sizeOf(a);
    case 'conv1d': {
      const filter = shapeOf(b) ?? [];
      if (shapeA.length < 2 || filter.length !== 3) return product(shapeA);
      const batch = shapeA.length === 3 ? shapeA[0] : 1;
      // conv1d(x, filter, stride, pad, dataFormat, dilation)
      const width = args[4] === 'NCW' ? shapeA[shapeA.length - 1] : shapeA[shapeA.length - 2];
      const out = windowed(width, filter[0], typeof args[2] === 'number' ? args[2] : 1, typeof args[5] === 'number' ? args[5] : 1, args[3]);
      return Math.max(batch * out * filter[2], batch * out * filter[0] * filter[1]);
    }
    case 'conv2d': {
      const filter = shapeOf(b) ?? [];
      if (filter.length !== 4) return product(shapeA);
      return window2d(shapeA, [filter[0], filter[1]], filter[2], filter[3], args[2], args[3], args[4], args[5]);
    }
    case 'sum': case 'mean': case 'max': case 'min': case 'prod': case 'all': case 'any': case 'logSumExp': case 'argMax': case 'argMin': {
      // A reduction keeps the dimensions it does not reduce (so a sum of a large tensor is not refused for its input's size).
      const rank = shapeA.length;
      const axes = b === undefined || b === null ? shapeA.map((_, i) => i) : numbers(b).map((ax) => (ax < 0 ? ax + rank : ax));
      return shapeA.reduce((n, d, i) => (axes.includes(i) ? n : n * d), 1);
    }
    case 'maxPool':
    case 'avgPool': {
      const channels = shapeA.length >= 3 ? shapeA[shapeA.length - 1] : 1;
      return Math.max(product(shapeA), window2d(shapeA, pair(b, 1), channels, null, args[2], args[3], undefined, undefined));
    }
    default:
      return args.reduce((largest: number, arg) => Math.max(largest, Array.isArray(arg) && arg.some(isTensor) ? arg.reduce((n: number, t) => n + sizeOf(t), 0) : sizeOf(arg)), 0);
  }
}

/**
 * The most dimensions a tensor made on a worker may have. The wasm backend's kernels
 * (XNNPACK) take at most 6: with more, some fail without a word and leave their memory
 * corrupted for every op after them. Refusing them on every backend keeps runs comparable.
 */
export const MAX_RANK = 6;

/** The rank of the result (or an upper bound), from the arguments' ranks and literal shapes. */
export function predictedRank(op: string, args: readonly unknown[]): number {
  const ranks = args.map((arg) => (Array.isArray(arg) && arg.some(isTensor) ? Math.max(0, ...arg.map((t) => shapeOf(t)?.length ?? 0)) : (shapeOf(arg)?.length ?? 0)));
  const first = ranks[0] ?? 0;
  switch (op) {
    case 'reshape':
    case 'broadcastTo':
      return Array.isArray(args[1]) ? args[1].length : first;
    case 'expandDims':
    case 'oneHot':
    case 'stack':
      return first + 1;
    case 'gather':
      return first + (ranks[1] ?? 0);
    case 'outerProduct':
      return 2;
    default:
      // Element-wise ops broadcast to the largest rank; the others keep or lower it.
      return Math.max(0, ...ranks.filter((_, i) => argumentKindIsTensor(op, i)));
  }
}

function argumentKindIsTensor(op: string, index: number): boolean {
  return argumentKind(op, index) !== 'literal';
}
