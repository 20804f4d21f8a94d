/**
 * A worker's resource budget: how many tensor elements one op may make, and how many the
 * worker may hold in all. Checked before anything is allocated — from shapes and literal
 * arguments (output-size.ts) — so a `tile` or `oneHot` with a huge size is refused with a
 * ResourceLimitError instead of allocating gigabytes (or trapping the WebAssembly backend,
 * which then fails every op of every worker after it).
 *
 * Defaults: 2^26 elements per tensor (256 MB of float32) and 2^28 in all (1 GB). Raise them
 * per worker: `sim.worker('bob', { budget: { maxTensorElements: 2 ** 27 } })`.
 */
import { resourceLimit } from '../../messages/index.js';

export interface WorkerBudget {
  /** Most elements one tensor (or share) made on the worker may hold. */
  readonly maxTensorElements: number;
  /** Most elements all the worker's stored values may hold together. */
  readonly maxStoredElements: number;
}

export const DEFAULT_BUDGET: WorkerBudget = Object.freeze({ maxTensorElements: 2 ** 26, maxStoredElements: 2 ** 28 });

/** A budget from partial settings, checked (positive integers, the per-tensor limit no larger than the total). */
export function resolveBudget(settings: Partial<WorkerBudget> = {}, where = 'budget'): WorkerBudget {
  const budget = { ...DEFAULT_BUDGET, ...settings };
  for (const [key, value] of Object.entries(budget)) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${where}.${key} must be a positive integer number of elements, got ${value}`);
  }
  if (budget.maxTensorElements > budget.maxStoredElements) {
    throw new RangeError(`${where}.maxTensorElements (${budget.maxTensorElements}) cannot exceed maxStoredElements (${budget.maxStoredElements})`);
  }
  return budget;
}

/** Refuses, before allocating, `elements` more for `op` on a worker holding `stored` already (`objectId`: what it would be stored as). */
export function checkAllocation(budget: WorkerBudget, worker: string, op: string, what: string, elements: number, stored: number, objectId?: string): void {
  if (elements > budget.maxTensorElements) throw resourceLimit(worker, op, what, elements, budget.maxTensorElements, 'maxTensorElements', objectId);
  if (stored + elements > budget.maxStoredElements) {
    throw resourceLimit(worker, op, `${what} (with the ${stored.toLocaleString('en-US')} elements it holds)`, stored + elements, budget.maxStoredElements, 'maxStoredElements', objectId);
  }
}

type BudgetedWorker = { id: string; config: { budget: WorkerBudget }; store: { elements: number } };

/** The same check for a worker: `elements` more for `op` on top of what its store holds. */
export function checkWorkerAllocation(worker: BudgetedWorker, op: string, what: string, elements: number, objectId?: string): void {
  checkAllocation(worker.config.budget, worker.id, op, what, elements, worker.store.elements, objectId);
}

/**
 * Several tensors at once (a model's parameters, a plan's state): each against the per-tensor
 * limit, all together against what the worker may hold.
 */
export function checkWorkerAllocations(worker: BudgetedWorker, op: string, what: string, sizes: readonly number[], objectId?: string): void {
  const { budget } = worker.config;
  const largest = sizes.reduce((a, b) => Math.max(a, b), 0);
  if (largest > budget.maxTensorElements) throw resourceLimit(worker.id, op, `${what} (the largest tensor)`, largest, budget.maxTensorElements, 'maxTensorElements', objectId);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (worker.store.elements + total > budget.maxStoredElements) {
    throw resourceLimit(worker.id, op, `${what} (with the ${worker.store.elements.toLocaleString('en-US')} elements it holds)`, worker.store.elements + total, budget.maxStoredElements, 'maxStoredElements', objectId);
  }
}
