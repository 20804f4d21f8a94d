/**
 * Remote autograd: a tape of the ops a worker ran on tracked tensors, replayed under
 * `tf.grads` when a loss asks for backward().
 *
 * tfjs has no persistent graph (its gradients are computed while a function runs),
 * and remote ops arrive one message at a time. So each op on a tracked input records
 * a *call*: the op name and its inputs — a tracked leaf (with a snapshot of its value),
 * an earlier call's output, a constant (a snapshot of an untracked tensor) or a literal.
 * backward() rebuilds the loss from its leaves as one function and differentiates it.
 * Snapshots are `tf.clone`s: they share data with the original, so they cost no copy,
 * and they stay valid if the original is deleted, fetched or reassigned.
 *
 * Calls are reference-counted by the store entries and calls that use them; the last
 * release disposes the snapshots. The same call records can describe a Plan.
 */
import * as tf from '@tensorflow/tfjs';
import type { Arg } from '../messages/index.js';
import type { StoreEntry } from './object-store.js';
import { type OpRunner, plainRunner } from './compute/op-runner.js';

export type TapeInput =
  | { kind: 'leaf'; entry: StoreEntry; value: tf.Tensor }
  | { kind: 'call'; call: TapeCall; index: number }
  | { kind: 'const'; value: tf.Tensor }
  | { kind: 'lit'; value: unknown }
  | { kind: 'list'; items: TapeInput[] };

/** One recorded op application. `multi`: the op returns an array (e.g. split). */
export class TapeCall {
  private refs = 0;
  constructor(
    readonly op: string,
    readonly inputs: readonly TapeInput[],
    readonly multi: boolean,
  ) {}

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs > 0) return;
    for (const input of this.inputs) releaseInput(input);
  }
}

/** Output `index` of a call: what a tracked store entry points at. */
export interface TapeRef {
  call: TapeCall;
  index: number;
}

function releaseInput(input: TapeInput): void {
  switch (input.kind) {
    case 'leaf':
    case 'const':
      input.value.dispose();
      return;
    case 'call':
      input.call.release();
      return;
    case 'list':
      for (const item of input.items) releaseInput(item);
      return;
  }
}

export function isTracked(entry: StoreEntry): boolean {
  return entry.requiresGrad || entry.tape !== undefined;
}

function hasRef(arg: Arg): boolean {
  if (Array.isArray(arg)) return arg.some(hasRef);
  return arg !== null && typeof arg === 'object';
}

function inputOf(arg: Arg, entryOf: (id: string) => StoreEntry): TapeInput {
  if (Array.isArray(arg)) return hasRef(arg) ? { kind: 'list', items: arg.map((a) => inputOf(a, entryOf)) } : { kind: 'lit', value: arg };
  if (arg === null || typeof arg !== 'object') return { kind: 'lit', value: arg };
  return entryInput(entryOf(arg.ref));
}

/** How a stored tensor enters the tape: a tracked leaf or a constant (snapshots), or a share of the call that computed it. */
export function entryInput(entry: StoreEntry): TapeInput {
  const value = entry.value as tf.Tensor;
  if (entry.requiresGrad) return { kind: 'leaf', entry, value: tf.clone(value) };
  if (entry.tape) {
    entry.tape.call.retain();
    return { kind: 'call', call: entry.tape.call, index: entry.tape.index };
  }
  return { kind: 'const', value: tf.clone(value) };
}

/**
 * Records an op whose inputs (resolved by `entryOf`, already validated) include a
 * tracked tensor; returns one tape reference per output, each holding a share of the call.
 */
export function recordCall(op: string, args: readonly Arg[], outputs: number, multi: boolean, entryOf: (id: string) => StoreEntry): TapeRef[] {
  const call = new TapeCall(op, args.map((arg) => inputOf(arg, entryOf)), multi);
  const refs: TapeRef[] = [];
  for (let index = 0; index < outputs; index++) {
    call.retain();
    refs.push({ call, index });
  }
  return refs;
}

/** The distinct leaf inputs a tape output depends on, in a fixed (depth-first, argument) order. */
function collectLeaves(root: TapeCall): Array<Extract<TapeInput, { kind: 'leaf' }>> {
  const leaves: Array<Extract<TapeInput, { kind: 'leaf' }>> = [];
  const seen = new Set<TapeCall>();
  const visit = (input: TapeInput): void => {
    if (input.kind === 'leaf') leaves.push(input);
    else if (input.kind === 'list') input.items.forEach(visit);
    else if (input.kind === 'call' && !seen.has(input.call)) {
      seen.add(input.call);
      input.call.inputs.forEach(visit);
    }
  };
  seen.add(root);
  root.inputs.forEach(visit);
  return leaves;
}

/** Recomputes `ref` from the leaf values given (inside tf.grads, so tfjs records the ops). */
function replay(ref: TapeRef, leafValue: Map<TapeInput, tf.Tensor>, run: OpRunner): tf.Tensor {
  const memo = new Map<TapeCall, tf.Tensor | tf.Tensor[]>();
  const evaluate = (input: TapeInput): unknown => {
    switch (input.kind) {
      case 'leaf':
        return leafValue.get(input);
      case 'const':
      case 'lit':
        return input.value;
      case 'list':
        return input.items.map(evaluate);
      case 'call':
        return outputOf(input.call, input.index);
    }
  };
  const outputOf = (call: TapeCall, index: number): tf.Tensor => {
    let result = memo.get(call);
    if (result === undefined) {
      result = run(call.op, call.inputs.map(evaluate));
      memo.set(call, result);
    }
    return call.multi ? (result as tf.Tensor[])[index] : (result as tf.Tensor);
  };
  return outputOf(ref.call, ref.index);
}

export interface LeafGradient {
  leaf: StoreEntry;
  grad: tf.Tensor;
}

/**
 * d(loss)/d(leaf) for every tracked leaf the loss depends on (one element per use of a
 * leaf; the caller sums them). The gradient of a non-scalar loss is taken with respect
 * to the sum of its elements (tfjs's default `dy` of ones). Throws with tfjs's reason
 * when some op on the path has no gradient.
 */
export function computeGradients(loss: StoreEntry, run: OpRunner = plainRunner): LeafGradient[] {
  const value = loss.value as tf.Tensor;
  if (!loss.tape) return loss.requiresGrad ? [{ leaf: loss, grad: tf.onesLike(value) }] : [];
  const tape = loss.tape;
  const leaves = collectLeaves(tape.call);
  const grads = tf.tidy(() => {
    const f = (...values: tf.Tensor[]) => replay(tape, new Map<TapeInput, tf.Tensor>(leaves.map((leaf, i) => [leaf, values[i]])), run);
    return tf.grads(f)(leaves.map((leaf) => leaf.value));
  });
  return leaves.map((leaf, i) => ({ leaf: leaf.entry, grad: grads[i] }));
}

/** Tensors held by the tape shares of these entries (each call counted once): for memory invariants. */
export function tapeTensorCount(entries: Iterable<StoreEntry>): number {
  const seen = new Set<TapeCall>();
  let count = 0;
  const visitInput = (input: TapeInput): void => {
    if (input.kind === 'leaf' || input.kind === 'const') count++;
    else if (input.kind === 'list') input.items.forEach(visitInput);
    else if (input.kind === 'call') visitCall(input.call);
  };
  const visitCall = (call: TapeCall): void => {
    if (seen.has(call)) return;
    seen.add(call);
    call.inputs.forEach(visitInput);
  };
  for (const entry of entries) if (entry.tape) visitCall(entry.tape.call);
  return count;
}
