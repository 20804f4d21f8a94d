/**
 * Optimisers on a worker: `optimizer` creates one, `optimizerStep` updates parameters
 * from their gradients, `optimizerZeroGrad` forgets the gradients, `optimizerDelete`
 * removes it.
 *
 * The parameters travel with every step (slot i = the i-th id), not with the
 * optimiser: so one optimiser can keep its state while it is pointed at a model sent
 * afresh every round (PySyft's `Optims`, one optimiser per worker). Its state tensors
 * (momentum buffers, Adam's moments) are store entries `<optimiser>.<slot>.<name>`,
 * visible in the worker's objects and freed by clearObjects() like anything else.
 *
 * A step is transactional: every slot's update is computed first, and parameters and
 * state change only when all succeeded.
 */
import type * as tf from '@tensorflow/tfjs';
import {
  invalidMessage,
  isTensor,
  isVariable,
  objectExists,
  optimizerNotFound,
  optimizerRuleProblem,
  optimizerStepFailed,
  type PayloadOf,
} from '../../messages/index.js';
import { FailedResult, type StoreEntry } from '../object-store.js';
import { failedInput } from './compute.js';
import { derivedFrom } from '../privacy/label.js';
import { computeUpdate } from '../optimizer-update.js';
import { firstMissing, type OptimizerRecord, type SlotState, trainingRecordsOf } from '../training-records.js';
import type { Turn, WorkerState } from '../worker-state.js';
import { entryOrThrow } from './objects.js';
import { forgetRefusal, refusedError } from '../refusals.js';

const stateId = (optimizer: string, slot: number, name: string) => `${optimizer}.${slot}.${name}`;

function optimizerOrThrow(worker: WorkerState, id: string, op: string): OptimizerRecord {
  const records = trainingRecordsOf(worker);
  const refusal = records.refusedOptimizers.get(id);
  if (refusal) throw refusedError(worker.id, 'optimiser', id, op, refusal);
  const record = records.optimizers.get(id);
  if (!record) throw optimizerNotFound(worker.id, id, op);
  return record;
}

/** The parameter entries a step or zeroGrad names: present, distinct, float tensors. */
function parameterEntries(worker: WorkerState, optimizer: string, ids: readonly string[], op: string): StoreEntry[] {
  if (new Set(ids).size !== ids.length) throw invalidMessage(worker.id, op, `optimiser ${optimizer} was given the same parameter twice: [${ids.join(', ')}]`);
  return ids.map((id, slot) => {
    const entry = entryOrThrow(worker, id, op);
    if (entry.value instanceof FailedResult) throw failedInput(entry.value, id, op); // e.g. a model whose send was refused
    if (!isTensor(entry.value)) throw optimizerStepFailed(worker.id, optimizer, op, `parameter ${id} is not a tensor`, slot);
    if (entry.value.dtype !== 'float32') throw optimizerStepFailed(worker.id, optimizer, op, `parameter ${id} is ${entry.value.dtype}; only float32 parameters can be trained`, slot);
    return entry;
  });
}

export function handleOptimizer(turn: Turn, payload: PayloadOf<'optimizer'>): void {
  const { worker } = turn;
  const records = trainingRecordsOf(worker);
  if (records.optimizers.has(payload.id) || records.refusedOptimizers.has(payload.id)) throw objectExists(worker.id, payload.id, 'optimizer');
  const problem = optimizerRuleProblem(payload.rule);
  if (problem) throw invalidMessage(worker.id, 'optimizer', problem, payload.id);
  records.optimizers.set(payload.id, { id: payload.id, rule: payload.rule, slots: [] });
}

interface Planned {
  slot: number;
  entry: StoreEntry;
  next: tf.Tensor;
  state: Map<string, tf.Tensor>;
}

export function handleOptimizerStep(turn: Turn, payload: PayloadOf<'optimizerStep'>): void {
  const { worker } = turn;
  const record = optimizerOrThrow(worker, payload.id, 'step');
  const params = parameterEntries(worker, record.id, payload.params, 'step');
  // The update reads the gradients and the optimiser's state too: a failure is reported according to their labels as well.
  for (const entry of params) if (entry.gradLabel) worker.store.noteRead(entry.gradLabel);
  for (const slotState of Object.values(record.slots)) for (const held of slotState?.state.values() ?? []) worker.store.noteRead(held.label);
  const planned: Planned[] = [];
  try {
    params.forEach((entry, slot) => {
      if (!entry.grad) return; // PyTorch skips parameters without a gradient, and leaves their state alone
      const param = entry.value as tf.Tensor;
      const slotState = record.slots[slot];
      const previous = new Map<string, tf.Tensor>();
      if (slotState) {
        const missing = firstMissing(worker, slotState.state.values());
        if (missing !== undefined) throw optimizerStepFailed(worker.id, record.id, 'step', `its state ${missing} is gone (clearObjects() or a delete removed it); create a new optimiser`, slot);
        for (const [name, stateEntry] of slotState.state) {
          const value = stateEntry.value as tf.Tensor;
          if (value.shape.join() !== param.shape.join()) {
            throw optimizerStepFailed(worker.id, record.id, 'step', `its state for this slot has shape [${value.shape}], but parameter ${entry.id} has shape [${param.shape}]; bind the optimiser to a model of the same architecture`, slot);
          }
          previous.set(name, value);
        }
      } else {
        for (const name of ['momentum', 'm', 'v']) {
          if (worker.store.has(stateId(record.id, slot, name))) throw objectExists(worker.id, stateId(record.id, slot, name), 'step');
        }
      }
      const update = computeUpdate(record.rule, param, entry.grad, previous, (slotState?.steps ?? 0) + 1);
      planned.push({ slot, entry, next: update.next, state: update.state });
    });
  } catch (error) {
    for (const p of planned) {
      p.next.dispose();
      for (const t of p.state.values()) t.dispose();
    }
    throw error;
  }
  for (const p of planned) commit(worker, record, p);
}

function commit(worker: WorkerState, record: OptimizerRecord, { slot, entry, next, state }: Planned): void {
  const gradLabel = entry.gradLabel ?? entry.label;
  const current = entry.value as tf.Tensor;
  if (isVariable(current)) {
    current.assign(next);
    next.dispose(); // the variable took its own reference to the data
  } else {
    entry.value = next; // a plain tensor is immutable: the entry gets the new one
    current.dispose();
  }
  let slotState: SlotState | undefined = record.slots[slot];
  // The step computes the new weights and the new state from the old weights, the gradient and the
  // old state (momentum, Adam's moments): each result is no more visible than all three. The old
  // state matters on its own: after bind() to other parameters, a step with a public gradient still
  // folds in the momentum of earlier private gradients.
  const stepLabel = derivedFrom([entry.label, gradLabel, ...[...(slotState?.state.values() ?? [])].map((held) => held.label)], worker.parts);
  entry.label = stepLabel;
  if (!slotState) {
    slotState = { steps: 0, state: new Map() };
    record.slots[slot] = slotState;
  }
  slotState.steps++;
  for (const [name, value] of state) {
    const held = slotState.state.get(name);
    if (held) {
      (held.value as tf.Tensor).dispose();
      held.value = value;
      held.label = stepLabel;
      continue;
    }
    const added: StoreEntry = {
      id: stateId(record.id, slot, name),
      value,
      requiresGrad: false,
      label: stepLabel,
      tags: ['#optimizer-state'],
      description: `${name} of optimiser ${record.id} (${record.rule.name}) for parameter slot ${slot}`,
    };
    worker.store.add(added);
    slotState.state.set(name, added);
  }
}

export function handleOptimizerZeroGrad(turn: Turn, payload: PayloadOf<'optimizerZeroGrad'>): void {
  const { worker } = turn;
  const record = optimizerOrThrow(worker, payload.id, 'zeroGrad');
  const params = parameterEntries(worker, record.id, payload.params, 'zeroGrad');
  for (const entry of params) {
    entry.grad?.dispose();
    entry.grad = undefined;
  }
}

export function handleOptimizerDelete(turn: Turn, payload: PayloadOf<'optimizerDelete'>): void {
  const { worker } = turn;
  const records = trainingRecordsOf(worker);
  if (forgetRefusal(worker, records.refusedOptimizers, payload.id, false)) return;
  const record = records.optimizers.get(payload.id);
  if (!record) return; // deletes are idempotent
  records.optimizers.delete(payload.id);
  for (const slot of record.slots) for (const entry of slot?.state.values() ?? []) if (worker.store.get(entry.id) === entry) worker.store.delete(entry.id);
}
