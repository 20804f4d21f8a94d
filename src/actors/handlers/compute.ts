/**
 * Computation on a worker: pipelined commands (tfjs ops and worker ops) and backward().
 *
 * A command is one-way: the sender already holds pointers to its results. So when it
 * fails, the worker stores a FailedResult under every result id (and reports the error
 * to the sender): whatever depends on those ids fails with the original cause, and
 * `get()` of any of them rejects naming the worker, the op and the cause.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type Arg,
  backwardFailed,
  expectedOutputs,
  invalidMessage,
  IN_PLACE_OPS,
  isTensor,
  isTensorOp,
  isVariable,
  notATensor,
  objectExists,
  opFailed,
  opSpec,
  type PayloadOf,
  planAsTensor,
  isPublicFacts,
  publicFacts,
  unknownOp,
  WorkerError,
} from '../../messages/index.js';
import { toErrorPayload } from '../../runtime/index.js';
import { computeGradients, isTracked, recordCall } from '../autograd.js';
import { FailedResult, PointerRecord, type StoreEntry } from '../object-store.js';
import { derivedFrom, isPrivate, PUBLIC_LABEL } from '../privacy/label.js';
import { workerRunner } from '../compute/op-runner.js';
import { checkAllocation } from '../compute/budget.js';
import { StoredPlan } from '../stored-plan.js';
import { RingTensor, ringAsTensor } from '../smpc/ring-tensor.js';
import { failureFor, type Turn, type WorkerState } from '../worker-state.js';
import { entryOrThrow } from './objects.js';

export interface Resolved {
  /** The arguments as the op receives them: tensors in place of refs. */
  values: unknown[];
  /** Every stored object referenced, in argument order. */
  entries: StoreEntry[];
}

/** A failure stored earlier, re-raised for an op that depends on it: the root cause, named. */
export function failedInput(failure: FailedResult, id: string, op: string): WorkerError {
  const root = failure.error;
  const where = { worker: String(root.where?.worker ?? ''), ...root.where, dependent: op };
  // The stored failure was made reportable when it was stored: re-raising it adds nothing computed.
  return publicFacts(new WorkerError(root.name as 'OpFailedError', `input ${id} of ${op} holds an earlier failure: ${root.message}`, where, root.data));
}

function resolveArg(worker: WorkerState, op: string, arg: Arg, entries: StoreEntry[]): unknown {
  if (Array.isArray(arg)) return arg.map((a) => resolveArg(worker, op, a, entries));
  if (arg === null || typeof arg !== 'object') return arg;
  const entry = entryOrThrow(worker, arg.ref, op);
  const { value } = entry;
  if (value instanceof FailedResult) throw failedInput(value, arg.ref, op);
  if (value instanceof PointerRecord) throw notATensor(worker.id, arg.ref, op, `${value.location}:${value.idAtLocation}`);
  if (value instanceof StoredPlan) throw planAsTensor(worker.id, arg.ref, op, value.name);
  if (value instanceof RingTensor) throw ringAsTensor(worker.id, arg.ref, op);
  entries.push(entry);
  return value;
}

/** The tensors `args` name (checked: present, not failed, not a pointer or plan), and their store entries. */
export function resolve(worker: WorkerState, op: string, args: readonly Arg[]): Resolved {
  const entries: StoreEntry[] = [];
  const values = new Array<unknown>(args.length);
  for (let i = 0; i < args.length; i++) values[i] = resolveArg(worker, op, args[i], entries);
  return { values, entries };
}

/** Runs a tensor op with the worker's runner (budget, argument kinds, private-index rules); returns its outputs (kept: the caller stores them). */
function runTensorOp(worker: WorkerState, op: string, values: unknown[], outputs: number, resultId: string | undefined, privateInputs: boolean): tf.Tensor[] {
  const run = workerRunner(worker, privateInputs);
  let result: tf.Tensor | tf.Tensor[];
  try {
    result = tf.tidy(() => run(op, values));
  } catch (error) {
    if (isPublicFacts(error)) throw error; // a refusal before running (budget, argument kind, kernel): already says what and where
    throw opFailed(worker.id, op, resultId, error);
  }
  const list = Array.isArray(result) ? result : [result];
  if (list.length !== outputs || !list.every(isTensor)) {
    tf.dispose(list.filter(isTensor));
    throw opFailed(worker.id, op, resultId, `it returned ${list.length} value(s) where ${outputs} tensor(s) were expected`);
  }
  return list;
}

function tensorArg(worker: WorkerState, values: unknown[], args: readonly Arg[], op: string): tf.Tensor {
  const value = values[0];
  if (!isTensor(value)) throw invalidMessage(worker.id, 'command', `${op} needs an object reference ({ref}) as its first argument, got ${JSON.stringify(args[0])}`);
  return value;
}

/** In-place worker ops: assign*, zeroGrad. */
function runInPlace(worker: WorkerState, op: string, args: readonly Arg[], { values, entries }: Resolved): void {
  const target = tensorArg(worker, values, args, op);
  const entry = entries[0];
  if (op === 'zeroGrad') {
    entry.grad?.dispose();
    entry.grad = undefined;
    return;
  }
  if (!isVariable(target)) {
    throw opFailed(worker.id, op, entry.id, `object ${entry.id} is a plain tensor, and tensors are immutable; send a tf.variable to update it in place`);
  }
  const operand = values[1];
  let next: tf.Tensor | undefined;
  try {
    next = tf.tidy(() => {
      const other = isTensor(operand) ? operand : tf.tensor(operand as number, undefined, target.dtype);
      return op === 'assign' ? tf.clone(other) : op === 'assignAdd' ? tf.add(target, other) : tf.sub(target, other);
    });
    target.assign(next); // throws, without changing anything, on a shape or dtype mismatch
  } catch (error) {
    throw opFailed(worker.id, op, entry.id, error);
  } finally {
    next?.dispose(); // the variable took its own reference to the data
  }
  // The variable now depends on the operand: it may not be more visible than the operand.
  if (entries[1]) entry.label = derivedFrom([entry.label, entries[1].label], worker.parts);
}

export function handleCommand(turn: Turn, payload: PayloadOf<'command'>): void {
  const { worker, mail, envelope } = turn;
  const { op, args, resultIds } = payload;
  const { store } = worker;
  try {
    const spec = opSpec(op);
    if (!spec) throw unknownOp(worker.id, op);
    if (args.length < spec.min || args.length > spec.max) {
      const range = spec.min === spec.max ? `${spec.min}` : `${spec.min} to ${spec.max}`;
      throw invalidMessage(worker.id, 'command', `${op} takes ${range} argument(s), got ${args.length}`);
    }
    const outputs = expectedOutputs(op, args);
    if (outputs === undefined || outputs !== resultIds.length) {
      throw invalidMessage(worker.id, 'command', `${op} produces ${outputs ?? 'an unknown number of'} result(s), but the command names ${resultIds.length} result id(s)`);
    }
    if (resultIds.length > 1 && new Set(resultIds).size !== resultIds.length) throw invalidMessage(worker.id, 'command', `result ids repeat: [${resultIds.join(', ')}]`);
    for (const id of resultIds) if (store.has(id)) throw objectExists(worker.id, id, op);
    const resolved = resolve(worker, op, args);
    if (IN_PLACE_OPS.has(op)) return runInPlace(worker, op, args, resolved);

    let results: tf.Tensor[];
    let label = derivedFrom(resolved.entries.map((e) => e.label), worker.parts);
    if (isTensorOp(op)) {
      results = runTensorOp(worker, op, resolved.values, outputs, resultIds[0], isPrivate(label));
    } else {
      const source = tensorArg(worker, resolved.values, args, op);
      const entry = resolved.entries[0];
      if (op === 'grad') {
        if (!entry.grad) throw opFailed(worker.id, 'grad', entry.id, `object ${entry.id} has no gradient yet: call backward() on a loss computed from it (send it with { requiresGrad: true }, or as a variable)`);
        label = entry.gradLabel ?? entry.label;
        checkAllocation(worker.config.budget, worker.id, op, `a copy of the gradient of object ${entry.id} (as object ${resultIds[0]})`, entry.grad.size, store.elements, resultIds[0]);
        results = [tf.clone(entry.grad)];
      } else {
        checkAllocation(worker.config.budget, worker.id, op, `a copy of object ${entry.id} (as object ${resultIds[0]})`, source.size, store.elements, resultIds[0]);
        results = [tf.clone(source)]; // copy
      }
    }
    // Results computed from tracked tensors are tracked: record how to recompute them.
    let tracked = false;
    if (op !== 'grad') for (const entry of resolved.entries) tracked ||= isTracked(entry);
    const tape = tracked ? recordCall(op === 'copy' ? 'clone' : op, args, results.length, op === 'split', (id) => store.get(id)!) : undefined;
    for (let i = 0; i < results.length; i++) {
      store.add({ id: resultIds[i], value: results[i], requiresGrad: false, tape: tape?.[i], label, tags: [] });
    }
  } catch (error) {
    // Dependents of the results must fail with this cause, not with "not found" (redacted if it read private data).
    const reported = failureFor(turn, error, { op, objectId: resultIds[0] });
    const failure = new FailedResult(toErrorPayload(reported));
    for (const id of new Set(resultIds)) if (!store.has(id)) store.add({ id, value: failure, requiresGrad: false, label: PUBLIC_LABEL, tags: [] });
    mail.fail(envelope, reported);
  }
}

export function handleBackward(turn: Turn, payload: PayloadOf<'backward'>): void {
  const { worker, mail, envelope } = turn;
  const loss = entryOrThrow(worker, payload.id, 'backward');
  if (loss.value instanceof FailedResult) return mail.fail(envelope, loss.value.error);
  if (loss.value instanceof PointerRecord) throw notATensor(worker.id, loss.id, 'backward', `${loss.value.location}:${loss.value.idAtLocation}`);
  if (loss.value instanceof StoredPlan) throw planAsTensor(worker.id, loss.id, 'backward', loss.value.name);
  if (!isTracked(loss)) {
    throw publicFacts(backwardFailed(worker.id, loss.id, 'it does not depend on any tensor that tracks gradients. Send the inputs with { requiresGrad: true }, or use variables.'));
  }
  let gradients;
  try {
    gradients = computeGradients(loss, workerRunner(worker, isPrivate(loss.label)));
  } catch (error) {
    if (isPublicFacts(error)) throw error;
    throw backwardFailed(worker.id, loss.id, (error as Error).message);
  }
  // Everything computed: now accumulate, as PyTorch does, until zeroGrad().
  for (const { leaf, grad } of gradients) {
    if (worker.store.get(leaf.id) !== leaf) {
      grad.dispose(); // the leaf was deleted or fetched since: nowhere to accumulate
      continue;
    }
    if (leaf.grad) {
      const sum = tf.add(leaf.grad, grad);
      leaf.grad.dispose();
      grad.dispose();
      leaf.grad = sum;
    } else {
      leaf.grad = grad;
    }
    leaf.gradLabel = derivedFrom([leaf.gradLabel ?? leaf.label, loss.label], worker.parts);
  }
  mail.reply(envelope, { kind: 'ack' });
}
