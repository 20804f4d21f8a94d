/**
 * Models on a worker: storing one (`model`), running it (`modelForward`), copying it
 * (`modelCopy`) and forgetting it (`modelDelete`).
 *
 * A model is its parameters — trainable variables in the store, so gradients
 * accumulate on them through the ordinary autograd tape — plus a record naming them
 * (training-records.ts). Handlers check everything first and change the store last,
 * so a message that fails leaves the worker as it was; a failed forward leaves a
 * FailedResult under its result id, like a failed command, so whatever depends on the
 * result fails with the cause.
 */
import * as tf from '@tensorflow/tfjs';
import { toErrorPayload } from '../../runtime/index.js';
import {
  disposeTensorsIn,
  forwardInputNotATensor,
  forwardProgramProblem,
  forwardShapeMismatch,
  inputShapeProblem,
  invalidModel,
  isTensor,
  modelNotFound,
  objectExists,
  type PayloadOf,
} from '../../messages/index.js';
import { FailedResult, PointerRecord, type StoreEntry } from '../object-store.js';
import { derivedFrom, isPrivate, type Label, labelFromSender, PUBLIC_LABEL } from '../privacy/label.js';
import { workerRunner } from '../compute/op-runner.js';
import { checkWorkerAllocations } from '../compute/budget.js';
import { runForward } from '../forward-runner.js';
import { firstMissing, type ModelRecord, trainingRecordsOf } from '../training-records.js';
import { forgetRefusal, refusedError } from '../refusals.js';
import { failureFor, type Turn, type WorkerState } from '../worker-state.js';
import { entryOrThrow } from './objects.js';
import { failedInput } from './compute.js';

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** The model `id`, with every parameter still in the store; a stale record is dropped and reported. */
export function liveModel(worker: WorkerState, id: string, op: string): ModelRecord {
  const records = trainingRecordsOf(worker);
  const record = records.models.get(id);
  const refusal = records.refusedModels.get(id);
  if (refusal) throw refusedError(worker.id, 'model', id, op, refusal);
  if (!record) throw modelNotFound(worker.id, id, op);
  const missing = firstMissing(worker, record.params);
  if (missing !== undefined) {
    records.models.delete(id);
    throw modelNotFound(worker.id, id, op, `its parameter ${missing} is gone (fetched with get(), moved, deleted or cleared)`);
  }
  return record;
}

/** A stored failure re-raised for a forward that depends on it: the root cause, named. */
function inputFailure(failure: FailedResult, id: string): Error {
  const root = failure.error;
  const error = new Error(`input ${id} of forward holds an earlier failure: ${root.message}`) as Error & { where?: unknown; data?: unknown };
  error.name = root.name;
  error.where = { ...root.where, dependent: 'forward' };
  error.data = root.data;
  return error;
}

function newParameter(id: string, value: tf.Tensor, label: Label, description: string): StoreEntry {
  const variable = tf.variable(value, true);
  return { id, value: variable, requiresGrad: true, label, tags: [], description };
}

export function handleModel(turn: Turn, payload: PayloadOf<'model'>): void {
  const { worker } = turn;
  const { id, program, params } = payload;
  const records = trainingRecordsOf(worker);
  const fail = (error: Error): never => {
    disposeTensorsIn(params); // nothing was adopted: the worker owns (and frees) what it was sent
    throw error;
  };
  const problem = forwardProgramProblem(program);
  if (problem) fail(invalidModel(worker.id, id, 'model', `its forward program is invalid: ${problem}`));
  if (records.models.has(id) || records.refusedModels.has(id)) fail(objectExists(worker.id, id, 'model'));
  try {
    checkWorkerAllocations(worker, 'model', `the parameters sent for model ${id}`, params.map((p) => p.tensor?.size ?? 0), id);
  } catch (error) {
    fail(error as Error);
  }
  if (params.length !== program.params.length) fail(invalidModel(worker.id, id, 'model', `${params.length} parameter(s) were sent for a program that has ${program.params.length}`));
  if (new Set(params.map((p) => p.id)).size !== params.length) fail(invalidModel(worker.id, id, 'model', 'two parameters share an id'));
  const existing: Array<StoreEntry | undefined> = [];
  params.forEach((param, i) => {
    const { name, shape } = program.params[i];
    if (param.tensor) {
      if (worker.store.has(param.id)) fail(objectExists(worker.id, param.id, 'model'));
      if (!sameShape(param.tensor.shape, shape)) fail(invalidModel(worker.id, id, 'model', `parameter ${name} has shape [${param.tensor.shape}], the program expects [${shape}]`));
      if (param.tensor.dtype !== 'float32') fail(invalidModel(worker.id, id, 'model', `parameter ${name} is ${param.tensor.dtype}; parameters are float32`));
      existing.push(undefined);
      return;
    }
    const entry = worker.store.get(param.id);
    if (entry?.value instanceof FailedResult) fail(failedInput(entry.value, param.id, 'model'));
    if (!entry || !isTensor(entry.value)) fail(invalidModel(worker.id, id, 'model', `parameter ${name} should be object ${param.id}, which ${entry ? 'is not a tensor' : 'is not on this worker'}`));
    if (!sameShape((entry!.value as tf.Tensor).shape, shape)) fail(invalidModel(worker.id, id, 'model', `parameter ${name} (object ${param.id}) has shape [${(entry!.value as tf.Tensor).shape}], the program expects [${shape}]`));
    existing.push(entry);
  });
  // Everything checked: store the new parameters and the record.
  const from = turn.envelope.from;
  const label = labelFromSender(from, worker.config.isWorker(from), payload.allowedUsers, worker.parts);
  const entries = params.map((param, i) => {
    const found = existing[i];
    if (found) return found;
    const entry = newParameter(param.id, param.tensor!, label, `parameter ${program.params[i].name} of model ${id} (${program.name})`);
    param.tensor!.dispose(); // the variable holds its own reference to the data
    worker.store.add(entry);
    return entry;
  });
  records.models.set(id, { id, program, params: entries });
}

export function handleModelForward(turn: Turn, payload: PayloadOf<'modelForward'>): void {
  const { worker, mail, envelope } = turn;
  const { id, input, resultId } = payload;
  const { store } = worker;
  try {
    if (store.has(resultId)) throw objectExists(worker.id, resultId, 'forward');
    const record = liveModel(worker, id, 'forward');
    const entry = entryOrThrow(worker, input, 'forward');
    const { value } = entry;
    if (value instanceof FailedResult) throw inputFailure(value, input);
    if (!isTensor(value)) {
      const what = value instanceof PointerRecord ? `a pointer to ${value.location}:${value.idAtLocation}` : `a ${(value as { kind?: string }).kind ?? 'non-tensor'} object`;
      throw forwardInputNotATensor(worker.id, id, record.program.name, input, what);
    }
    const mismatch = inputShapeProblem(record.program.input, value.shape);
    if (mismatch) throw forwardShapeMismatch(worker.id, id, record.program.name, input, mismatch);
    // The output depends on the data and on every parameter: it is no more visible than any of them.
    const label = derivedFrom([entry.label, ...record.params.map((p) => p.label)], worker.parts);
    const output = runForward({ worker: worker.id, modelId: id, program: record.program, params: record.params, input: entry, runner: workerRunner(worker, isPrivate(label)) });
    store.add({ id: resultId, value: output.value, requiresGrad: false, tape: output.tape, label, tags: [] });
  } catch (error) {
    const reported = failureFor(turn, error, { op: 'forward', objectId: id });
    if (!store.has(resultId)) store.add({ id: resultId, value: new FailedResult(toErrorPayload(reported)), requiresGrad: false, label: PUBLIC_LABEL, tags: [] });
    mail.fail(envelope, reported);
  }
}

export function handleModelCopy(turn: Turn, payload: PayloadOf<'modelCopy'>): void {
  const { worker } = turn;
  const { id, newId, paramIds } = payload;
  const records = trainingRecordsOf(worker);
  const record = liveModel(worker, id, 'copy');
  if (records.models.has(newId) || records.refusedModels.has(newId)) throw objectExists(worker.id, newId, 'copy');
  if (paramIds.length !== record.params.length) throw invalidModel(worker.id, newId, 'copy', `${paramIds.length} parameter id(s) were given for a model with ${record.params.length} parameters`);
  if (new Set(paramIds).size !== paramIds.length) throw invalidModel(worker.id, newId, 'copy', 'two parameters share an id');
  for (const pid of paramIds) if (worker.store.has(pid)) throw objectExists(worker.id, pid, 'copy');
  checkWorkerAllocations(worker, 'copy', `a copy of the parameters of model ${id} (as model ${newId})`, record.params.map((p) => (p.value as tf.Tensor).size), newId);
  // Fresh leaves: same values and visibility, no gradient, no history.
  const entries = record.params.map((source, i) =>
    newParameter(paramIds[i], source.value as tf.Tensor, source.label, `parameter ${record.program.params[i].name} of model ${newId} (${record.program.name})`),
  );
  for (const entry of entries) worker.store.add(entry);
  records.models.set(newId, { id: newId, program: record.program, params: entries });
}

export function handleModelDelete(turn: Turn, payload: PayloadOf<'modelDelete'>): void {
  const { worker } = turn;
  const records = trainingRecordsOf(worker);
  if (forgetRefusal(worker, records.refusedModels, payload.id, payload.params ?? false)) return;
  const record = records.models.get(payload.id);
  if (!record) return; // deletes are idempotent
  records.models.delete(payload.id);
  if (!payload.params) return;
  for (const entry of record.params) if (worker.store.get(entry.id) === entry) worker.store.delete(entry.id);
}
