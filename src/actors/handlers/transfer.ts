/**
 * Worker-to-worker transfers: move (bob sends his object straight to alice) and
 * remoteGet (alice, holding a pointer to bob's object, pulls it to herself).
 *
 * Both are two-step: the worker forwards, remembers the request, and answers its
 * requester only when the other worker has answered. That ordering matters: once
 * `await ptr.move(alice)` returns, alice holds the object, so the next command the
 * driver sends alice finds it (channels are FIFO per sender, not across senders).
 * A moved object stays here until alice confirms, so a refused move loses nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { type ErrorPayload, ERROR_REPLY } from '../../runtime/index.js';
import { disposeTensorsIn, invalidMessage, isTensor, isVariable, MessageSchemas, objectExists, type PayloadOf, tensorsIn } from '../../messages/index.js';
import { FailedResult, metaOf, PointerRecord, type StoredValue } from '../object-store.js';
import { StoredPlan } from '../stored-plan.js';
import { RingTensor, ringAsTensor } from '../smpc/ring-tensor.js';
import type { Turn, WorkerState } from '../worker-state.js';
import { checkWorkerAllocation, checkWorkerAllocations } from '../compute/budget.js';
import { acceptPlan } from './plans.js';
import { labelFromSender } from '../privacy/label.js';
import { assertMayHave, entryOrThrow } from './objects.js';

export function handleMove(turn: Turn, payload: PayloadOf<'move'>): void {
  const { worker, mail, envelope } = turn;
  const { id, to } = payload;
  const entry = entryOrThrow(worker, id, 'move');
  if (to === worker.id) return void mail.reply(envelope, { kind: 'ack' });
  if (!worker.config.isPeer(to)) throw invalidMessage(worker.id, 'move', `there is no worker '${to}' to move object ${id} to`, id);
  assertMayHave(worker, entry, to, 'move');
  const { value } = entry;
  if (value instanceof FailedResult) return mail.fail(envelope, value.error);
  if (value instanceof RingTensor) throw ringAsTensor(worker.id, id, 'move'); // a share stays with its owner
  if (worker.moving(id)) throw invalidMessage(worker.id, 'move', `object ${id} is already being moved; await the first move()`, id);
  // The message owns a clone (same data, no copy); our own reference goes when `to` confirms.
  const wire = isTensor(value)
    ? { kind: 'tensor' as const, tensor: tf.clone(value), ...(isVariable(value) ? { variable: { trainable: value.trainable } } : {}) }
    : value instanceof StoredPlan
      ? { kind: 'plan' as const, plan: value.toWire(true) }
      : { kind: 'pointer' as const, location: value.location, idAtLocation: value.idAtLocation, owned: value.owned, ...(value.shape ? { shape: value.shape } : {}), ...(value.dtype ? { dtype: value.dtype as 'float32' } : {}) };
  const sent = mail.send(to, 'object', { id, value: wire, meta: metaOf(entry), ack: true });
  worker.forwards.set(sent, { kind: 'move', request: { id: envelope.id, from: envelope.from }, objectId: id, entry, to, asked: to });
}

export function handleRemoteGet(turn: Turn, payload: PayloadOf<'remoteGet'>): void {
  const { worker, mail, envelope } = turn;
  const entry = entryOrThrow(worker, payload.id, 'remoteGet');
  const { value } = entry;
  if (value instanceof FailedResult) return mail.fail(envelope, value.error);
  if (!(value instanceof PointerRecord)) return void mail.reply(envelope, { kind: 'ack' }); // already here
  if (!worker.config.isPeer(value.location)) {
    throw invalidMessage(worker.id, 'remoteGet', `object ${payload.id} is ${value}, and there is no worker '${value.location}' to fetch it from`, payload.id);
  }
  // The object will count against this worker's budget. When its size is known, room for it is set aside now (so
  // nothing else takes it meanwhile); either way the holder refuses — keeping the object — one larger than the room.
  const { reserved, maxElements } = roomForPull(worker, payload.id, value);
  const sent = mail.send(value.location, 'objectRequest', { id: value.idAtLocation, maxElements });
  worker.store.reserve(reserved);
  worker.forwards.set(sent, { kind: 'remoteGet', request: { id: envelope.id, from: envelope.from }, objectId: payload.id, entry, reserved, asked: value.location });
}

/**
 * The room a pull asks for. When the pointer record knows the shape: exactly that many elements,
 * refused here at once if they do not fit, and reserved until the answer (a lost answer leaves
 * them reserved, as it leaves the forward waiting). Otherwise: the room left now, reserving
 * nothing — the worker's whole room must not stay blocked for an answer that may never come.
 */
function roomForPull(worker: WorkerState, id: string, pointer: PointerRecord): { reserved: number; maxElements: number } {
  const { maxTensorElements, maxStoredElements } = worker.config.budget;
  if (pointer.shape) {
    const size = pointer.shape.reduce((a, b) => a * b, 1);
    checkWorkerAllocation(worker, 'remoteGet', `object ${id} (from ${pointer.location})`, size, id);
    return { reserved: size, maxElements: size };
  }
  return { reserved: 0, maxElements: Math.max(0, Math.min(maxTensorElements, maxStoredElements - worker.store.elements)) };
}

/** An answer (reply or error) from another worker to a request this worker forwarded. */
export function handleAnswer(turn: Turn): void {
  const { worker, mail, envelope } = turn;
  const forward = envelope.inReplyTo === undefined ? undefined : worker.forwards.get(envelope.inReplyTo);
  // Only the actor asked may answer: message ids are predictable, and a forged ack to a move
  // would make this worker drop the object, a forged object would stand in for the one pulled.
  if (!forward || forward.asked !== envelope.from) {
    // A duplicate, an answer to something we did not ask, or from someone we did not ask: nothing to do, but it owns what it carries.
    disposeTensorsIn(envelope.payload);
    return;
  }
  worker.forwards.delete(envelope.inReplyTo!);
  if (forward.kind === 'remoteGet') worker.store.unreserve(forward.reserved); // whatever the answer, the room is free again
  if (envelope.type === ERROR_REPLY) {
    const parsed = MessageSchemas.error.safeParse(envelope.payload);
    // An error reply has no use for tensors: they are freed, and `data` is passed on only without any.
    const carried = tensorsIn(envelope.payload).length > 0;
    disposeTensorsIn(envelope.payload);
    if (!parsed.success) return mail.fail(forward.request, { name: 'Error', message: `${envelope.from} failed without a readable error` });
    const { data, ...rest } = parsed.data as ErrorPayload;
    return mail.fail(forward.request, carried ? rest : { ...rest, ...(data ? { data } : {}) });
  }
  const parsed = MessageSchemas.reply.safeParse(envelope.payload);
  if (!parsed.success) {
    disposeTensorsIn(envelope.payload);
    return mail.fail(forward.request, invalidMessage(worker.id, 'reply', `${envelope.from} answered with a malformed reply`));
  }
  if (forward.kind === 'move' || parsed.data.kind !== 'object') disposeTensorsIn(envelope.payload); // only remoteGet's object answer is kept
  const answer = parsed.data;
  const { store } = worker;
  const stillHere = store.get(forward.objectId) === forward.entry;
  if (forward.kind === 'move') {
    // `to` holds it now: drop ours without disposing its target (ownership of a pointer's target moved too).
    if (stillHere) {
      const taken = store.take(forward.objectId)!;
      if (isTensor(taken.value) || taken.value instanceof StoredPlan) taken.value.dispose();
    }
    return void mail.reply(forward.request, { kind: 'ack' });
  }
  if (answer.kind !== 'object') return mail.fail(forward.request, invalidMessage(worker.id, 'reply', `${envelope.from} answered remoteGet's request with '${answer.kind}' instead of the object`));
  const { value, meta } = answer;
  if (!stillHere) {
    disposeTensorsIn(value);
    return mail.fail(forward.request, objectExists(worker.id, forward.objectId, 'remoteGet'));
  }
  try {
    // The holder checked the room asked for; this worker's store may have grown since (nothing was reserved for an
    // object of unknown size), or the holder did not check.
    checkWorkerAllocations(worker, 'remoteGet', `object ${forward.objectId} (from ${envelope.from})`, tensorsIn(value).map((t) => t.size), forward.objectId);
  } catch (error) {
    // Not kept here: handed back to its holder, under its id there, so that the refusal loses nothing.
    const pointer = forward.entry.value as PointerRecord;
    mail.send(pointer.location, 'object', { id: pointer.idAtLocation, value, meta });
    return mail.fail(forward.request, error);
  }
  store.take(forward.objectId); // the pointer record: its target is consumed, so no remote delete
  let stored: StoredValue;
  if (value.kind === 'pointer') {
    stored = new PointerRecord(worker.id, forward.objectId, value.location, value.idAtLocation, value.owned, value.shape, value.dtype);
  } else if (value.kind === 'plan') {
    try {
      stored = acceptPlan(worker, forward.objectId, value.plan);
    } catch (error) {
      return mail.fail(forward.request, error); // the pointer record is gone with the target it named; nothing stored
    }
  } else if (value.variable && !isVariable(value.tensor)) {
    stored = tf.variable(value.tensor, value.variable.trainable);
    value.tensor.dispose(); // the variable holds its own reference to the data
  } else {
    stored = value.tensor;
  }
  store.add({
    id: forward.objectId,
    value: stored,
    requiresGrad: meta.requiresGrad ?? false,
    label: labelFromSender(envelope.from, worker.config.isWorker(envelope.from), meta.allowedUsers, worker.parts, meta.contributions),
    tags: [...(meta.tags ?? [])],
    description: meta.description,
  });
  mail.reply(forward.request, { kind: 'ack' });
}
