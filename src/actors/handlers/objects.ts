/**
 * Handlers that store, hand out, describe and delete objects.
 *
 * Each validates and checks everything first and changes the store last, so a
 * message that fails leaves the store as it was.
 */
import * as tf from '@tensorflow/tfjs';
import {
  disposeTensorsIn,
  getNotPermitted,
  invalidMessage,
  isTensor,
  noRoomForObject,
  isVariable,
  objectExists,
  objectNotFound,
  type PayloadOf,
  planAsTensor,
  type SearchResult,
  tensorsIn,
  type WireValue,
} from '../../messages/index.js';
import { type ChainedDelete, elementsOf, FailedResult, metaOf, PointerRecord, type StoreEntry, type StoredValue } from '../object-store.js';
import { StoredPlan } from '../stored-plan.js';
import { RingTensor, ringAsTensor } from '../smpc/ring-tensor.js';
import { existingEngine } from '../smpc/engine.js';
import type { Turn, WorkerState } from '../worker-state.js';
import { canSee, labelFromSender } from '../privacy/label.js';
import { previewObject } from '../format-value.js';
import { releaseDecision } from '../privacy/release.js';
import { acceptPlan } from './plans.js';
import { checkWorkerAllocations } from '../compute/budget.js';

/** The entry `id`, or an ObjectNotFoundError naming the op that needed it. */
export function entryOrThrow(worker: WorkerState, id: string, op: string): StoreEntry {
  const entry = worker.store.get(id);
  if (!entry) throw objectNotFound(worker.id, id, op);
  return entry;
}

/** Refuses to hand an object to `user` (a move to another worker) unless its label allows `user`. */
export function assertMayHave(worker: WorkerState, entry: StoreEntry, user: string, op: string): void {
  const { allowedUsers } = entry.label;
  if (allowedUsers !== null && !allowedUsers.includes(user)) throw getNotPermitted(worker.id, entry.id, user, allowedUsers, op);
}

/**
 * Refuses to reveal an object to `user` (get, smpc/get) unless its label allows `user` or
 * the run's release policy does (privacy/release.ts: `user` is the requester, and the data
 * owners are the federation's workers); a release under the policy is recorded in the
 * event log as a `release` mark.
 */
export function authorizeRelease(turn: Turn, entry: StoreEntry, user: string, op: string): void {
  const { worker, io } = turn;
  const policy = io.policies?.release;
  const decision = releaseDecision(entry.label, { requester: user, isDataOwner: worker.config.isWorker }, policy);
  if (!decision.allowed) {
    const note = policy
      ? `The run's release policy (an aggregate of at least ${policy.aggregate.minContributors} data owners other than the requester, with equal weights) does not apply: ${decision.why}.`
      : undefined;
    throw getNotPermitted(worker.id, entry.id, user, entry.label.allowedUsers ?? [], op, note);
  }
  if (decision.via === 'aggregate') {
    io.mark?.('release', { worker: worker.id, object: entry.id, to: user, policy: policy!, contributors: decision.contributors, ...(decision.uncounted.length ? { uncounted: decision.uncounted } : {}) });
  }
}

/** Sends the deletes that removing owned pointer records implies, one message per location. */
export function sendChainedDeletes(turn: Turn, deletes: ChainedDelete[]): void {
  const byLocation = new Map<string, string[]>();
  for (const { location, id } of deletes) {
    if (!turn.worker.config.isPeer(location)) continue; // a pointer to nowhere: nothing to delete there
    const ids = byLocation.get(location) ?? [];
    ids.push(id);
    byLocation.set(location, ids);
  }
  for (const [location, ids] of byLocation) turn.mail.send(location, 'delete', { ids });
}

/** The wire form of a stored value (a tensor's ownership goes with it). */
export function wireValueOf(worker: WorkerState, entry: StoreEntry, value: tf.Tensor | PointerRecord | StoredPlan): WireValue {
  if (value instanceof StoredPlan) return { kind: 'plan', plan: value.toWire(false) };
  if (value instanceof PointerRecord) {
    return {
      kind: 'pointer',
      location: value.location,
      idAtLocation: value.idAtLocation,
      owned: value.owned,
      ...(value.shape ? { shape: value.shape } : {}),
      ...(value.dtype ? { dtype: value.dtype as 'float32' } : {}),
    };
  }
  return { kind: 'tensor', tensor: value, ...(isVariable(value) ? { variable: { trainable: value.trainable } } : {}) };
}

export function handleObject(turn: Turn, payload: PayloadOf<'object'>): void {
  const { worker, mail, envelope } = turn;
  const { id, value, meta = {}, ack } = payload;
  const acknowledge = () => {
    if (ack) mail.reply(envelope, { kind: 'ack' });
  };
  let stored: StoredValue;
  try {
    // What arrives was allocated by its sender; the budget decides whether this worker keeps it.
    // (With `ack`, this is the destination's half of a move: the moving worker keeps the object if refused.)
    checkWorkerAllocations(worker, ack ? 'move' : 'send', `received object ${id}`, tensorsIn(value).map((t) => t.size), id);
  } catch (error) {
    disposeTensorsIn(value);
    throw error;
  }
  if (value.kind === 'tensor') {
    if (worker.store.has(id)) {
      value.tensor.dispose();
      throw objectExists(worker.id, id, 'send');
    }
    const wantsVariable = value.variable !== undefined && !isVariable(value.tensor);
    stored = wantsVariable ? tf.variable(value.tensor, value.variable!.trainable) : value.tensor;
    if (wantsVariable) value.tensor.dispose(); // the variable holds its own reference to the data
  } else if (value.kind === 'plan') {
    if (worker.store.has(id)) {
      disposeTensorsIn(value.plan.state);
      throw objectExists(worker.id, id, 'send');
    }
    stored = acceptPlan(worker, id, value.plan);
  } else {
    if (worker.store.has(id)) throw objectExists(worker.id, id, 'send');
    stored = new PointerRecord(worker.id, id, value.location, value.idAtLocation, value.owned, value.shape, value.dtype);
  }
  const trainable = isVariable(stored) && stored.trainable;
  const from = envelope.from;
  worker.store.add({
    id,
    value: stored,
    requiresGrad: meta.requiresGrad ?? trainable,
    label: labelFromSender(from, worker.config.isWorker(from), meta.allowedUsers, worker.parts, meta.contributions),
    tags: [...(meta.tags ?? [])],
    description: meta.description,
  });
  acknowledge();
}

export function handleObjectRequest(turn: Turn, payload: PayloadOf<'objectRequest'>): void {
  const { worker, mail, envelope } = turn;
  const entry = entryOrThrow(worker, payload.id, 'get');
  authorizeRelease(turn, entry, envelope.from, 'get');
  const { value } = entry;
  if (value instanceof FailedResult) {
    worker.store.delete(payload.id);
    mail.fail(envelope, value.error);
    return;
  }
  if (value instanceof RingTensor) throw ringAsTensor(worker.id, payload.id, 'get'); // shares leave through smpc/get
  const elements = elementsOf(value);
  if (payload.maxElements !== undefined && elements > payload.maxElements) throw noRoomForObject(worker.id, envelope.from, payload.id, elements, payload.maxElements);
  worker.store.take(payload.id);
  mail.reply(envelope, { kind: 'object', id: payload.id, value: wireValueOf(worker, entry, value), meta: metaOf(entry) });
}

export function handleDelete(turn: Turn, payload: PayloadOf<'delete'>): void {
  const chained: ChainedDelete[] = [];
  const smpc = existingEngine(turn.worker);
  for (const id of payload.ids) {
    if (smpc?.deferDelete(id)) continue; // SMPC work sent before this delete still waits to read it
    const remote = turn.worker.store.delete(id);
    if (remote) chained.push(remote);
  }
  sendChainedDeletes(turn, chained);
}

export function handleClear(turn: Turn): void {
  sendChainedDeletes(turn, turn.worker.store.clear());
  turn.mail.reply(turn.envelope, { kind: 'ack' });
}

export function handleGetShape(turn: Turn, payload: PayloadOf<'getShape'>): void {
  const { worker, mail, envelope } = turn;
  const { value } = entryOrThrow(worker, payload.id, 'getShape');
  if (value instanceof FailedResult) return mail.fail(envelope, value.error);
  if (value instanceof StoredPlan) throw planAsTensor(worker.id, payload.id, 'getShape', value.name);
  if (value instanceof RingTensor) throw ringAsTensor(worker.id, payload.id, 'getShape');
  if (value instanceof PointerRecord) {
    if (!value.shape || !value.dtype) throw invalidMessage(worker.id, 'getShape', `object ${payload.id} is a pointer to ${value.location}:${value.idAtLocation} whose shape was not recorded; ask ${value.location}`, payload.id);
    return void mail.reply(envelope, { kind: 'shape', shape: [...value.shape], dtype: value.dtype as 'float32' });
  }
  mail.reply(envelope, { kind: 'shape', shape: [...value.shape], dtype: value.dtype });
}

function describeEntry(entry: StoreEntry, previewFor: string | null): SearchResult {
  const { value } = entry;
  const result: SearchResult = { id: entry.id, kind: isTensor(value) ? 'tensor' : value.kind, tags: [...entry.tags] };
  if (value instanceof StoredPlan) result.description = value.toString();
  if (isTensor(value)) {
    result.shape = [...value.shape];
    result.dtype = value.dtype;
  } else if (value instanceof PointerRecord && value.shape && value.dtype) {
    result.shape = [...value.shape];
    result.dtype = value.dtype as 'float32';
  } else if (value instanceof RingTensor) {
    result.shape = [...value.shape];
  }
  if (entry.description !== undefined) result.description = entry.description;
  if (previewFor !== null) {
    if (canSee(entry.label, previewFor)) result.preview = previewObject(value);
    else result.privateTo = [...(entry.label.allowedUsers ?? [])];
  }
  return result;
}

/** Objects matching every query term (a tag, or the object's id); all objects for an empty query. */
export function handleSearch(turn: Turn, payload: PayloadOf<'search'>): void {
  const results: SearchResult[] = [];
  for (const entry of turn.worker.store.values()) {
    if (payload.query.every((term) => entry.tags.includes(term) || entry.id === term)) results.push(describeEntry(entry, payload.preview ? turn.envelope.from : null));
  }
  turn.mail.reply(turn.envelope, { kind: 'search', results });
}

export function handleSetMeta(turn: Turn, payload: PayloadOf<'setMeta'>): void {
  const entry = entryOrThrow(turn.worker, payload.id, 'setMeta');
  for (const tag of payload.tags ?? []) if (!entry.tags.includes(tag)) entry.tags.push(tag);
  if (payload.description !== undefined) entry.description = payload.description;
}
