/**
 * How a worker runs one tfjs op — for a command, inside a plan, in a model's forward
 * program and when backward() replays the tape — so that every path applies the same rules:
 *
 *  1. references to stored tensors only where the op takes tensors (argumentKind): a shape,
 *     an axis or a size is always a literal, so sizes never depend on stored values;
 *  2. the budget, checked before allocating, from shapes and literals (output-size.ts);
 *  3. with private inputs, `gather` does not fail on indices out of range: those rows come
 *     out as zeros (as TensorFlow does on GPUs). Failing would tell the caller that some
 *     private index is out of range — one bit per try, enough to recover every value;
 *     Likewise `mod`: on int32 the wasm kernel traps on a zero divisor ("remainder by
 *     zero"), so with private inputs a zero divisor gives 0 instead (float mod gives NaN and
 *     never fails). A fuzz of every op on ordinary and extreme private values found no other
 *     op whose failure depends on the values (test/privacy-failure-oracles.test.ts);
 *  4. a kernel failure (a WebAssembly trap) is reported as KernelFailedError — its text
 *     withheld from those who may not see the data it ran on; if the backend no longer works
 *     after it, the worker is marked failed (kernel-health.ts).
 *
 * The plain runner (tfjs as it is) is what plans and models use when run locally.
 */
import * as tf from '@tensorflow/tfjs';
import { argumentKind, invalidMessage, isTensor, kernelFailed, publicFacts, WorkerError } from '../../messages/index.js';
import type { WorkerState } from '../worker-state.js';
import { checkAllocation } from './budget.js';
import { afterKernelFailure, brokenBackend, isKernelFailure } from './kernel-health.js';
import { MAX_RANK, predictedElements, predictedRank } from './output-size.js';

export type OpRunner = (op: string, args: readonly unknown[]) => tf.Tensor | tf.Tensor[];
type OpFn = (...args: unknown[]) => tf.Tensor | tf.Tensor[];
const tfOps = tf as unknown as Record<string, OpFn>;

/** tfjs as it is (for plans and models run locally). */
export const plainRunner: OpRunner = (op, args) => tfOps[op](...args);

const holdsTensor = (value: unknown): boolean => isTensor(value) || (Array.isArray(value) && value.some(holdsTensor));

/** `gather` that gives zero rows for indices outside [0, n) instead of failing (see rule 3). */
function gatherWithoutFailing(x: unknown, indices: unknown, axis: unknown = 0, batchDims: unknown = 0): tf.Tensor {
  const source = x as tf.Tensor;
  const idx = isTensor(indices) ? indices : tf.tensor(indices as number[], undefined, 'int32');
  if (!isTensor(source) || idx.dtype !== 'int32' || typeof axis !== 'number' || typeof batchDims !== 'number') return tf.gather(source, idx, axis as number, batchDims as number);
  const rank = source.rank;
  const along = axis < 0 ? axis + rank : axis;
  const n = source.shape[along];
  if (n === undefined || n === 0 || batchDims < 0 || batchDims > along) return tf.gather(source, idx, axis, batchDims);
  const valid = tf.logicalAnd(tf.greaterEqual(idx, 0), tf.less(idx, n));
  // Out-of-range indices read row 0 (which exists: n > 0), then come out as zeros. (Not clipByValue: on wasm it leaves int32 unchanged.)
  const out = tf.gather(source, tf.where(valid, idx, tf.zerosLike(idx)), along, batchDims);
  const maskShape = [...idx.shape.slice(0, batchDims), ...new Array<number>(along - batchDims).fill(1), ...idx.shape.slice(batchDims), ...new Array<number>(rank - along - 1).fill(1)];
  const mask = tf.broadcastTo(tf.reshape(valid, maskShape), out.shape);
  return tf.where(mask, out, tf.zerosLike(out));
}

/** `mod` that gives 0 where an int32 divisor is 0 instead of trapping (see rule 3). */
function modWithoutFailing(a: unknown, b: unknown): tf.Tensor {
  const x = (isTensor(a) ? a : tf.scalar(a as number)) as tf.Tensor;
  const divisor = (isTensor(b) ? b : tf.scalar(b as number, x.dtype === 'int32' ? 'int32' : 'float32')) as tf.Tensor;
  if (x.dtype !== 'int32' && divisor.dtype !== 'int32') return tf.mod(x, divisor);
  const zero = tf.equal(divisor, 0);
  const out = tf.mod(x, tf.where(zero, tf.onesLike(divisor), divisor));
  return tf.where(tf.broadcastTo(zero, out.shape), tf.zerosLike(out), out);
}

/** Ops that, on private inputs, run in a form whose failure cannot depend on the values. */
const withoutFailing: Record<string, OpFn> = { gather: gatherWithoutFailing, mod: modWithoutFailing } as Record<string, OpFn>;

const literalExpected = (worker: string, op: string, index: number) =>
  invalidMessage(
    worker,
    'command',
    `argument ${index + 1} of ${op} must be a literal (a number, shape, axis, size or flag), not a stored tensor: a stored value there would make sizes, ` +
      `and so allocations and errors, depend on what it holds. Read it with get() first, or pass the tensor where ${op} takes one`,
  );

/** The runner of `worker`: every rule above. `privateInputs`: whether what the op reads includes private data. */
export function workerRunner(worker: WorkerState, privateInputs: boolean): OpRunner {
  return (op, args) => {
    const broken = brokenBackend();
    if (broken !== null) throw publicFacts(new WorkerError('KernelFailedError', `${op} on ${worker.id} was refused: the compute backend has not worked since a kernel failure (${broken}); restart the process (or run with FEDSIM_BACKEND=cpu).`, { worker: worker.id, op }));
    args.forEach((arg, i) => {
      if (argumentKind(op, i) === 'literal' && holdsTensor(arg)) throw literalExpected(worker.id, op, i);
    });
    const rank = predictedRank(op, args);
    if (rank > MAX_RANK) throw invalidMessage(worker.id, 'command', `${op} would make a tensor of ${rank} dimensions; workers make tensors of at most ${MAX_RANK} (the wasm kernels' limit: with more, some fail silently and corrupt memory)`);
    checkAllocation(worker.config.budget, worker.id, op, 'a result', predictedElements(op, args), worker.store.elements);
    const fn = (privateInputs ? withoutFailing[op] : undefined) ?? tfOps[op];
    try {
      return fn(...args);
    } catch (error) {
      if (!isKernelFailure(error)) throw error;
      const reason = `${(error as Error).name}: ${(error as Error).message}`;
      const backendBroken = afterKernelFailure(`${op} on ${worker.id}: ${reason}`);
      if (backendBroken) worker.markFailed(`the kernel of ${op} failed (${reason}) and the compute backend stopped working`);
      throw kernelFailed(worker.id, op, reason, backendBroken, privateInputs);
    }
  };
}
