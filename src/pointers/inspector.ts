/**
 * The debugging door: `sim.inspect(bob)` reads a worker's store directly — every value, its
 * privacy label, what failed privately — bypassing every check the worker makes, as a
 * debugger attached to the worker's process would. It exists for debugging and for tests
 * of the store itself; protocols, tutorial scenarios and tests of protocols must not use it
 * (they use messages: get, getShape, search, listObjects). Being a named door, a reader of
 * scenario code sees at once where a check is bypassed.
 *
 * It shows what has been delivered so far: `await sim.settle()` first to see the effect of
 * everything sent.
 */
import { inspect } from 'node:util';
import type { Label, StoredValue, StoreEntry, WorkerState } from '../actors/index.js';
import { FedsimError } from '../runtime/index.js';
import { formatObjects } from './format.js';
import type { VirtualWorker } from './worker-handle.js';

export interface InspectedEntry {
  readonly id: string;
  readonly value: StoredValue;
  readonly label: Label;
  readonly tags: readonly string[];
  readonly description?: string;
  readonly requiresGrad: boolean;
}

export class WorkerInspector {
  private readonly state: WorkerState;

  constructor(readonly worker: VirtualWorker) {
    const state = worker.unguardedState();
    if (!state) throw new FedsimError(`sim.inspect(${worker.id}): the local worker stores nothing to inspect.`);
    this.state = state;
  }

  /** id → tensor, pointer record, share, plan or failed result, in insertion order (a fresh Map each time). */
  get objects(): Map<string, StoredValue> {
    return this.state.store.view();
  }

  get size(): number {
    return this.state.store.size;
  }

  /** Every stored object with its label. */
  get entries(): InspectedEntry[] {
    return [...this.state.store.values()].map((e: StoreEntry) => ({ id: e.id, value: e.value, label: e.label, tags: [...e.tags], description: e.description, requiresGrad: e.requiresGrad }));
  }

  /** The label of object `id`, if it is stored. */
  labelOf(id: string): Label | undefined {
    return this.state.store.get(id)?.label;
  }

  /** Failures of computations on private data, with their full causes (the requester got them redacted), oldest first. */
  get privateFailures(): ReadonlyArray<{ op: string; objectId?: string; name: string; message: string }> {
    return this.state.privateFailures;
  }

  /** `{1: tensor([1, 2, 3, 4, 5]), …}`, values and all. */
  format(): string {
    return formatObjects(this.objects);
  }

  toString(): string {
    return `<WorkerInspector of ${this.worker.id}: ${this.size} object(s)>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
