/**
 * Remote ops: the `rt` namespace (tfjs's op names, taking pointers) and the op methods
 * of pointers (`x.add(y)`), both generated from the op catalogue.
 *
 * `rt.matMul(a, b)` with pointers sends one command to the worker holding them and
 * returns a pointer to the result at once. With no pointer among the arguments it is
 * simply `tf.matMul(a, b)`, so code can be written once for local and remote tensors.
 * Multi-pointers run the op on every worker and return a multi-pointer.
 */
import * as tf from '@tensorflow/tfjs';
import { expectedOutputs, METHOD_OPS, TENSOR_OPS, type TensorOpName } from '../messages/index.js';
import { FedsimError } from '../runtime/index.js';
import { TensorsNotCollocatedError } from './errors.js';
import { MultiPointerTensor } from './multi-pointer.js';
import { isMultiPointer, isPointer, wireArgs } from './op-args.js';
import { PointerTensor, type RemoteArg } from './pointer-tensor.js';

type HasMulti<T> = T extends MultiPointerTensor ? true : T extends readonly (infer E)[] ? HasMulti<E> : false;
type HasPointer<T> = T extends PointerTensor<any> ? true : T extends readonly (infer E)[] ? HasPointer<E> : false;
/** A pointer when some argument is one, a multi-pointer when some argument is one, else a local tensor. */
export type RemoteResult<A extends readonly unknown[]> = true extends HasMulti<A[number]> ? MultiPointerTensor : true extends HasPointer<A[number]> ? PointerTensor : tf.Tensor;
export type RemoteOp = <const A extends readonly RemoteArg[]>(...args: A) => RemoteResult<A>;
export type RemoteSplit = <const A extends readonly RemoteArg[]>(...args: A) => RemoteResult<A>[];
export type RemoteOps = { readonly [K in Exclude<TensorOpName, 'split'>]: RemoteOp } & { readonly split: RemoteSplit };

type LocalFn = (...args: unknown[]) => tf.Tensor | tf.Tensor[];
type AnyResult = PointerTensor | PointerTensor[] | MultiPointerTensor | MultiPointerTensor[] | tf.Tensor | tf.Tensor[];

function containsMulti(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (isMultiPointer(value)) return true;
  if (!Array.isArray(value) || depth >= 8) return false;
  for (const v of value) if (containsMulti(v, depth + 1)) return true;
  return false;
}

/** The same call on every worker of the multi-pointers among the arguments (which must span the same workers). */
function callOnEach(op: TensorOpName, args: readonly unknown[]): MultiPointerTensor | MultiPointerTensor[] {
  const multis: MultiPointerTensor[] = [];
  const collect = (value: unknown, depth: number): void => {
    if (isMultiPointer(value)) multis.push(value as MultiPointerTensor);
    else if (Array.isArray(value) && depth < 8) value.forEach((v) => collect(v, depth + 1));
  };
  args.forEach((a) => collect(a, 0));
  const workers = [...multis[0].children.keys()];
  for (const multi of multis) {
    const theirs = [...multi.children.keys()];
    if (theirs.length !== workers.length || !theirs.every((w) => workers.includes(w))) {
      throw new TensorsNotCollocatedError(op, theirs, `${op}: multi-pointers on [${workers.join(', ')}] and on [${theirs.join(', ')}] do not span the same workers, so the op cannot run child by child. Send both tensors to the same workers.`);
    }
  }
  const childArgs = (worker: string) => {
    const map = (value: unknown, depth: number): unknown => {
      if (isMultiPointer(value)) return (value as MultiPointerTensor).children.get(worker);
      if (isPointer(value)) {
        throw new TensorsNotCollocatedError(op, [value.location.id, ...workers], `${op}: ${value} lives on one worker, but the multi-pointer argument spans [${workers.join(', ')}]. Send that tensor to every one of them (t.send(${workers.join(', ')})).`);
      }
      return Array.isArray(value) && depth < 8 ? value.map((v) => map(v, depth + 1)) : value;
    };
    return args.map((a) => map(a, 0));
  };
  const results = workers.map((worker) => callRemote(op, childArgs(worker)) as PointerTensor | PointerTensor[]);
  const sim = multis[0].sim;
  if (op !== 'split') return new MultiPointerTensor(sim, results as PointerTensor[]);
  const parts = (results[0] as PointerTensor[]).length;
  return Array.from({ length: parts }, (_, i) => new MultiPointerTensor(sim, (results as PointerTensor[][]).map((r) => r[i])));
}

/** Runs `op` where its arguments are: remotely (one command, result pointers now), on every worker of a multi-pointer, or locally. */
export function callRemote(op: TensorOpName, args: readonly unknown[]): AnyResult {
  for (let i = 0; i < args.length; i++) if (containsMulti(args[i])) return callOnEach(op, args);
  const wired = wireArgs(op, args);
  if (!wired) return (tf as unknown as Record<string, LocalFn>)[op](...args);
  const { sim, location } = wired;
  const outputs = op === 'split' ? expectedOutputs(op, wired.args) : 1;
  if (outputs === undefined) throw new FedsimError(`${op}: the number of results cannot be known before the op runs; pass the number of parts explicitly (e.g. split(x, 2)).`);
  const ids = sim.command(location.id, op, wired.args, outputs);
  if (op !== 'split') return new PointerTensor({ sim, location, idAtLocation: ids[0] });
  return ids.map((idAtLocation) => new PointerTensor({ sim, location, idAtLocation }));
}

/** tfjs's op names, for pointers: `rt.matMul(yPtr, idPtr)`, `rt.reshape(yPtr, [2, 2])`. */
export const rt: RemoteOps = Object.freeze(
  Object.fromEntries((Object.keys(TENSOR_OPS) as TensorOpName[]).map((op) => [op, (...args: unknown[]) => callRemote(op, args)])),
) as unknown as RemoteOps;

// Op methods on pointers and multi-pointers: `x.add(y)` is `rt.add(x, y)`.
for (const op of METHOD_OPS) {
  const method = function (this: unknown, ...args: unknown[]) {
    return callRemote(op, [this, ...args]);
  };
  Object.defineProperty(method, 'name', { value: op });
  for (const proto of [PointerTensor.prototype, MultiPointerTensor.prototype]) {
    Object.defineProperty(proto, op, { value: method, writable: true, configurable: true });
  }
}
