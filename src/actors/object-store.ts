/**
 * A worker's object store: id → object, in insertion order (so listing, search and
 * clearing are deterministic).
 *
 * The store owns what it holds: deleting an entry disposes its tensor, its gradient
 * and its share of the autograd tape. `take` removes an entry *without* disposing its
 * value, for the one case where ownership leaves the worker (get, a finished move).
 */
import type * as tf from '@tensorflow/tfjs';
import type { ErrorPayload } from '../runtime/index.js';
import { isTensor, type ObjectMeta } from '../messages/index.js';
import type { TapeRef } from './autograd.js';
import { StoredPlan } from './stored-plan.js';
import type { RingTensor } from './smpc/ring-tensor.js';
import { contributionsToWire, type Label, PUBLIC_LABEL, visibilityOf } from './privacy/label.js';

/** A pointer held by a worker (a pointer chain): `holder:id -> location:idAtLocation`. */
export class PointerRecord {
  readonly kind = 'pointer';
  constructor(
    readonly holder: string,
    readonly id: string,
    readonly location: string,
    readonly idAtLocation: string,
    /** An owned pointer deletes its target when it is deleted itself. */
    readonly owned: boolean,
    readonly shape?: number[],
    readonly dtype?: string,
  ) {}

  toString(): string {
    return `[PointerTensor | ${this.holder}:${this.id} -> ${this.location}:${this.idAtLocation}]`;
  }
}

/** What a failed pipelined command left under its result ids, so dependents and get() report the cause. */
export class FailedResult {
  readonly kind = 'error';
  constructor(readonly error: ErrorPayload) {}

  toString(): string {
    return `<failed: ${this.error.name}: ${this.error.message}>`;
  }
}

/** RingTensor: an additive share or fixed-precision value (smpc/ring-tensor.ts); plain memory, nothing to dispose. */
export type StoredValue = tf.Tensor | PointerRecord | FailedResult | StoredPlan | RingTensor;

export interface StoreEntry {
  readonly id: string;
  value: StoredValue;
  /** A tracked leaf: gradients accumulate into `grad` (sent with requiresGrad, or a trainable variable). */
  requiresGrad: boolean;
  /** Set when the value was computed from tracked inputs: how to recompute it for backward(). */
  tape?: TapeRef;
  grad?: tf.Tensor;
  /** The privacy label of `grad` (the leaf's and the loss's combined). */
  gradLabel?: Label;
  /** Who may see the value and what it is a sum of (privacy/label.ts); every producer derives it from its inputs' labels. */
  label: Label;
  tags: string[];
  description?: string;
}

/** A remote delete that removing an owned pointer record implies. */
export interface ChainedDelete {
  location: string;
  id: string;
}

/** The metadata that travels with an object to another worker (its label included) or to whoever gets it. */
export function metaOf(entry: StoreEntry): ObjectMeta {
  const { allowedUsers, contributions } = entry.label;
  const meta: ObjectMeta = { allowedUsers: allowedUsers === null ? null : [...allowedUsers], tags: [...entry.tags] };
  if (allowedUsers !== null) meta.contributions = contributionsToWire(contributions);
  if (entry.requiresGrad) meta.requiresGrad = true;
  if (entry.description !== undefined) meta.description = entry.description;
  return meta;
}

/** Frees what an entry holds besides its value (gradient, tape share). */
function releaseExtras(entry: StoreEntry): void {
  entry.grad?.dispose();
  entry.grad = undefined;
  entry.tape?.call.release();
  entry.tape = undefined;
}

/** Tensor elements a stored value holds (what a worker's budget counts). */
export function elementsOf(value: StoredValue): number {
  if (isTensor(value)) return value.size;
  if (value instanceof StoredPlan) return [...value.state.values()].reduce((n, t) => n + t.size, 0);
  if ((value as RingTensor).kind === 'ring') return (value as RingTensor).size;
  return 0;
}

export class ObjectStore {
  private readonly entries = new Map<string, StoreEntry>();
  /** Elements held by the stored values (kept up to date by add and take). */
  private held = 0;
  /** Elements reserved for objects on their way here. */
  private reserved = 0;
  /**
   * The labels of what the work under way has read (one trail per nested piece of work: a
   * message, an SMPC task). A failure is reported according to them: a failure of work that
   * read private data does not tell its cause to whoever may not see that data.
   */
  private readonly trails: Label[][] = [];

  get size(): number {
    return this.entries.size;
  }

  /**
   * Tensor elements the worker's budget counts: what the stored values hold, plus room set
   * aside for objects on their way here (reserve).
   */
  get elements(): number {
    return this.held + this.reserved;
  }

  /** Sets aside room for `elements` arriving later (a remoteGet's answer), so nothing else takes it meanwhile. */
  reserve(elements: number): void {
    this.reserved += elements;
  }

  /** Gives back room set aside with reserve(). */
  unreserve(elements: number): void {
    this.reserved = Math.max(0, this.reserved - elements);
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** The entry `id`; reading it puts its label on the current trail. */
  get(id: string): StoreEntry | undefined {
    const entry = this.entries.get(id);
    if (entry && this.trails.length > 0) this.trails[this.trails.length - 1].push(entry.label);
    return entry;
  }

  /** Starts a trail of what the next piece of work reads. */
  beginTrail(): void {
    this.trails.push([]);
  }

  /** The label of everything the current piece of work has read so far (public when it read nothing). */
  trailLabel(): Label {
    const trail = this.trails[this.trails.length - 1];
    return trail && trail.length > 0 ? visibilityOf(trail) : PUBLIC_LABEL;
  }

  /** Puts a label on the current trail for something read outside the store's entries (a gradient). */
  noteRead(label: Label): void {
    if (this.trails.length > 0) this.trails[this.trails.length - 1].push(label);
  }

  /** Ends the current trail and returns its label. */
  endTrail(): Label {
    const label = this.trailLabel();
    this.trails.pop();
    return label;
  }

  /** Entries in insertion order. */
  values(): IterableIterator<StoreEntry> {
    return this.entries.values();
  }

  /** Adds a new entry; the caller has checked the id is free. */
  add(entry: StoreEntry): void {
    if (this.entries.has(entry.id)) throw new Error(`ObjectStore.add: id ${entry.id} is taken (handlers must check before adding)`);
    this.entries.set(entry.id, entry);
    this.held += elementsOf(entry.value);
  }

  /** Removes an entry and hands its value to the caller (who now owns it); gradient and tape share are freed. */
  take(id: string): StoreEntry | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    this.held = Math.max(0, this.held - elementsOf(entry.value));
    releaseExtras(entry);
    return entry;
  }

  /** Removes and disposes an entry. An owned pointer record returns the remote delete its removal implies. */
  delete(id: string): ChainedDelete | undefined {
    const entry = this.take(id);
    if (!entry) return undefined;
    const { value } = entry;
    if (isTensor(value) || value instanceof StoredPlan) value.dispose();
    else if (value instanceof PointerRecord && value.owned) return { location: value.location, id: value.idAtLocation };
    return undefined;
  }

  /** Deletes everything, in insertion order. */
  clear(): ChainedDelete[] {
    const chained: ChainedDelete[] = [];
    for (const id of [...this.entries.keys()]) {
      const remote = this.delete(id);
      if (remote) chained.push(remote);
    }
    return chained;
  }

  /** A read-only view for inspection: id → tensor, pointer record, plan or failure. */
  view(): Map<string, StoredValue> {
    const out = new Map<string, StoredValue>();
    for (const [id, entry] of this.entries) out.set(id, entry.value);
    return out;
  }
}
