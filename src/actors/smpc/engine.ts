/**
 * The secure-computation engine of one worker: the SMPC work it has been asked for but
 * cannot finish yet.
 *
 * Shares, triples and openings reach an owner on other channels than the commands that
 * use them (bob → alice, james → alice, me → alice), so an owner may be asked to add a
 * share it has not received yet, or receive d and e from a peer before its own mul
 * command. Such work waits here as a task, and every SMPC message runs the waiting tasks
 * again, in the order they arrived, until none can go further. Everything is in the
 * delivery order the scheduler chose, so a seed gives one order.
 *
 * A task that throws has failed: a FailedResult goes under its result id (dependent
 * tasks and get() then fail with the cause, as for a failed command), the sender of the
 * message that asked for it gets an error reply, and the task may warn its protocol peers.
 * A task waiting for something that never comes waits for ever; an awaited get() of its
 * result then ends in the driver's DeadlockError naming the request.
 */
import * as tf from '@tensorflow/tfjs';
import { objectExists, objectNotFound, type PayloadOf, publicFacts } from '../../messages/index.js';
import { toErrorPayload } from '../../runtime/index.js';
import { failedInput } from '../handlers/compute.js';
import { FailedResult, PointerRecord, type StoreEntry } from '../object-store.js';
import { type Label, PUBLIC_LABEL } from '../privacy/label.js';
import { reportable } from '../privacy/redaction.js';
import { checkWorkerAllocation } from '../compute/budget.js';
import type { RequestRef } from '../worker-mail.js';
import type { Turn, WorkerState } from '../worker-state.js';
import { RingTensor } from './ring-tensor.js';
import { SmpcError } from './smpc-error.js';

export type TriplePayload = PayloadOf<'smpc/triple'> & { from: string };
export type OpenPayload = PayloadOf<'smpc/open'> & { from: string };

export interface SmpcTask {
  /** What the task stores when it is done; a failure is stored there too (null: it stores nothing here). */
  readonly resultId: string | null;
  /** Who asked for it: a failure is reported there. */
  readonly requester: RequestRef;
  /** Goes as far as it can; true when finished. Throwing means it failed. */
  advance(turn: Turn, engine: SmpcEngine): boolean;
  /** After a failure: tell whoever else waits on this task (e.g. the other owners of a product). */
  onFailure?(turn: Turn, error: unknown): void;
  /** Whether it has yet to read object `id` (a get or a delete of `id` must wait until it has). */
  needs(id: string): boolean;
  /** The label of what it read in earlier turns (a failure in a later step is reported according to it). */
  readLabel?(): Label;
}

export class SmpcEngine {
  private tasks: SmpcTask[] = [];
  private readonly triples = new Map<string, TriplePayload>();
  private readonly opens = new Map<string, Map<number, OpenPayload>>();
  /** Deletes that arrived while a waiting task still needed the object (they were sent after that task's command). */
  private readonly deferredDeletes = new Set<string>();

  /** Tasks still waiting (for inspection and tests). */
  get waiting(): number {
    return this.tasks.length;
  }

  /** Queues a task and runs everything that can run now. */
  add(turn: Turn, task: SmpcTask): void {
    if (task.resultId !== null && turn.worker.store.has(task.resultId)) throw objectExists(turn.worker.id, task.resultId, 'smpc');
    this.tasks.push(task);
    this.run(turn);
  }

  /** Keeps the crypto provider's shares of session `session` until the task that uses them runs (a duplicate is ignored). */
  addTriple(turn: Turn, triple: TriplePayload): void {
    if (!this.triples.has(triple.session)) this.triples.set(triple.session, triple);
    this.run(turn);
  }

  /** Keeps a peer's opening until the task that needs it runs (a duplicate is ignored). */
  addOpen(turn: Turn, open: OpenPayload): void {
    const key = `${open.session}|${open.step}`;
    const byParty = this.opens.get(key) ?? new Map<number, OpenPayload>();
    if (!byParty.has(open.party)) byParty.set(open.party, open);
    this.opens.set(key, byParty);
    this.run(turn);
  }

  /** The triple of `session`, handed over once (undefined until it arrives). */
  takeTriple(session: string): TriplePayload | undefined {
    const triple = this.triples.get(session);
    if (triple) this.triples.delete(session);
    return triple;
  }

  /** The openings of `session`'s `step` once all `count` other parties have sent theirs (handed over once). */
  takeOpens(session: string, step: 'beaver' | 'truncate', count: number): OpenPayload[] | undefined {
    const key = `${session}|${step}`;
    const byParty = this.opens.get(key);
    const failed = byParty && [...byParty.values()].find((o) => o.failed);
    if (failed) {
      this.opens.delete(key);
      return [failed];
    }
    if (!byParty || byParty.size < count) return undefined;
    this.opens.delete(key);
    return [...byParty.values()].sort((a, b) => a.party - b.party);
  }

  /** True when a task queued before `task` (all tasks, if it is null) has yet to read `id`. */
  neededBefore(task: SmpcTask | null, id: string): boolean {
    for (const waiting of this.tasks) {
      if (waiting === task) return false;
      if (waiting.needs(id)) return true;
    }
    return false;
  }

  /**
   * A delete of `id` while waiting work still needs it (`z = x.mul(y); x.dispose()`): the
   * commands came first, so the delete happens once they have read it. True when deferred.
   */
  deferDelete(id: string): boolean {
    if (!this.neededBefore(null, id)) return false;
    this.deferredDeletes.add(id);
    return true;
  }

  /** Runs waiting tasks, in arrival order, until a whole pass finishes none. */
  run(turn: Turn): void {
    for (let progressed = true; progressed; ) {
      progressed = false;
      for (const task of [...this.tasks]) {
        let finished: boolean;
        const { store } = turn.worker;
        store.beginTrail();
        try {
          finished = task.advance(turn, this);
        } catch (error) {
          if (task.readLabel) store.noteRead(task.readLabel());
          // What the task read decides what its requester and its peers may be told.
          this.fail(turn, task, reportable(turn.worker, error, store.trailLabel(), task.requester.from, { op: 'smpc', ...(task.resultId === null ? {} : { objectId: task.resultId }) }));
          finished = true;
        } finally {
          store.endTrail();
        }
        if (finished) {
          this.tasks.splice(this.tasks.indexOf(task), 1);
          progressed = true;
        }
      }
    }
    for (const id of [...this.deferredDeletes]) {
      if (this.neededBefore(null, id)) continue;
      this.deferredDeletes.delete(id);
      turn.worker.store.delete(id); // ring tensors and failures: nothing chained to delete elsewhere
    }
  }

  private fail(turn: Turn, task: SmpcTask, error: unknown): void {
    const { store } = turn.worker;
    if (task.resultId !== null && !store.has(task.resultId)) {
      store.add({ id: task.resultId, value: new FailedResult(toErrorPayload(error)), requiresGrad: false, label: PUBLIC_LABEL, tags: [] });
    }
    task.onFailure?.(turn, error);
    turn.mail.fail(task.requester, error);
  }
}

const engines = new WeakMap<WorkerState, SmpcEngine>();

/** The engine of this worker, if it ever did SMPC work (a delete need not make one). */
export function existingEngine(worker: WorkerState): SmpcEngine | undefined {
  return engines.get(worker);
}

/** The engine of this worker (made on first use: workers that never compute on shares have none). */
export function engineOf(worker: WorkerState): SmpcEngine {
  let engine = engines.get(worker);
  if (!engine) {
    engine = new SmpcEngine();
    engines.set(worker, engine);
  }
  return engine;
}

function describe(value: StoreEntry['value']): string {
  if (value instanceof PointerRecord) return `a pointer to ${value.location}:${value.idAtLocation}`;
  if (value instanceof tf.Tensor) return `a ${value.dtype} tensor of shape [${value.shape}]`;
  return `a ${(value as { kind?: string }).kind ?? 'value'}`;
}

/**
 * Refuses a protocol whose parties are not all workers of the federation. A share, an opening
 * (d = x − a) or a truncation opening sent to anyone else — the local worker `me`, an actor
 * spawned outside the federation — would hand it a share of the value, and with a triple it
 * dealt itself, the share in the clear.
 */
export function assertFederationParties(worker: WorkerState, parties: readonly string[], op: string): void {
  const outsider = parties.find((p) => p !== worker.id && !worker.config.isWorker(p));
  if (outsider !== undefined) {
    throw publicFacts(
      new SmpcError('SmpcProtocolError', `${op} on ${worker.id}: '${outsider}' is not a worker of this federation, and shares, openings and triples go to workers only. Name workers made with sim.worker() as owners and crypto provider.`, { worker: worker.id, op }),
    );
  }
}

/** The ring tensor `id`, or undefined while it has not arrived; throws for a failure or a non-ring object. */
export function ringInput(worker: WorkerState, id: string, op: string): RingTensor | undefined {
  const entry = worker.store.get(id);
  if (!entry) return undefined;
  const { value } = entry;
  if (value instanceof RingTensor) return value;
  if (value instanceof FailedResult) throw failedInput(value, id, op);
  throw new SmpcError('SmpcOpError', `${op} on ${worker.id}: object ${id} is ${describe(value)}, not a share or fixed-precision value. Shared values are made with fixPrecision() and share().`, { worker: worker.id, objectId: id, op });
}

/** The entry `id` for an op on tensors (no waiting: tensors are stored by the commands before it). */
export function tensorInput(worker: WorkerState, id: string, op: string): StoreEntry {
  const entry = worker.store.get(id);
  if (!entry) throw objectNotFound(worker.id, id, op);
  if (entry.value instanceof FailedResult) throw failedInput(entry.value, id, op);
  return entry;
}

/** Stores a task's result (the id was checked free when the task was queued) with the label derived from its inputs'. */
export function storeResult(worker: WorkerState, id: string, value: RingTensor | tf.Tensor, label: Label): void {
  checkWorkerAllocation(worker, 'smpc', 'a result', value.size);
  worker.store.add({ id, value, requiresGrad: false, label, tags: [] });
}

/** The label of stored object `id` (public when it is gone: a task reads labels only of inputs it has just read). */
export function labelOf(worker: WorkerState, id: string): Label {
  return worker.store.get(id)?.label ?? PUBLIC_LABEL;
}
