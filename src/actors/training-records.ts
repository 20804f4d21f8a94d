/**
 * What a worker remembers about the models and optimisers it was sent, beside its
 * object store.
 *
 * The records hold no tensors. A model's parameters and an optimiser's state are
 * ordinary store entries, so every path that removes objects — get, move, delete,
 * clearObjects(), a restart without state — frees them exactly as it frees any other
 * tensor. A record refers to its entries by identity: when one of them is gone or was
 * replaced, the record is stale, and the next message that uses it fails naming what
 * is missing (instead of silently training something else under a reused id).
 *
 * The tables hang off the WorkerState through a WeakMap rather than a field of it,
 * which keeps this extension out of the shared worker state; a restart without state
 * makes a new WorkerState, and with it empty tables.
 */
import type { ForwardProgram, OptimizerRule } from '../messages/index.js';
import type { StoreEntry } from './object-store.js';
import type { Refusal } from './refusals.js';
import type { WorkerState } from './worker-state.js';

export interface ModelRecord {
  readonly id: string;
  readonly program: ForwardProgram;
  /** The parameter entries, in program order. */
  readonly params: readonly StoreEntry[];
}

/** An optimiser's state for one parameter slot (slot i = the i-th parameter of each step). */
export interface SlotState {
  /** Steps taken for this slot (Adam's t). */
  steps: number;
  /** State tensors by name (`momentum`, or `m` and `v`), as store entries. */
  readonly state: Map<string, StoreEntry>;
}

export interface OptimizerRecord {
  readonly id: string;
  readonly rule: OptimizerRule;
  readonly slots: Array<SlotState | undefined>;
}

export class TrainingRecords {
  /** In insertion order (iteration order never affects results, but listings stay stable). */
  readonly models = new Map<string, ModelRecord>();
  readonly optimizers = new Map<string, OptimizerRecord>();
  /** Models and optimisers whose one-way creation was refused: their ids answer with the refusal (refusals.ts). */
  readonly refusedModels = new Map<string, Refusal>();
  readonly refusedOptimizers = new Map<string, Refusal>();
}

const tables = new WeakMap<WorkerState, TrainingRecords>();

export function trainingRecordsOf(worker: WorkerState): TrainingRecords {
  let records = tables.get(worker);
  if (!records) {
    records = new TrainingRecords();
    tables.set(worker, records);
  }
  return records;
}

/** The id of the first entry of `entries` that is no longer the store's entry under its id, or undefined. */
export function firstMissing(worker: WorkerState, entries: Iterable<StoreEntry>): string | undefined {
  for (const entry of entries) if (worker.store.get(entry.id) !== entry) return entry.id;
  return undefined;
}
