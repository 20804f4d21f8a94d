/**
 * The NATS training bridge: a thread of a TrainingPool (training-pool.ts ThreadProgram) that,
 * instead of training the tasks it is sent, hands them to `fedsim train-worker` processes over
 * NATS (protocol.ts) and posts their results back exactly as a training thread does. It is a
 * thread because the simulation's thread blocks (Atomics.wait) while it waits for a result,
 * and a NATS client needs an event loop that runs.
 *
 * From the simulation's thread it receives tasks by the thread protocol (data and weights by
 * local key, carried when its cache lacks them: training-worker.ts does the same); it keys
 * them for other processes by content (a data set's sha256, computed here once a run; the
 * weights' digest) and queues them. A worker that asks for work (`next`) while the queue is
 * empty is held until a task comes or `holdMs` passes.
 *
 * A task is leased to the worker that takes it. If its result has not come `leaseMs` after
 * (the worker died, hangs, or the network lost it), the lease ends, the task goes back to the
 * front of the queue for another worker, and after `attempts` leases it fails: its client
 * then trains in the simulation's process — so a killed worker costs time, never a result,
 * and the run stays bit-identical to the in-process run (a dropout instead would make the run
 * depend on real time). The first result whose task key matches is taken; any other copy (a
 * late answer from a worker whose lease ended, a duplicate delivery) is acknowledged and
 * ignored: results are idempotent by task key.
 *
 * A task or result larger than the server's max_payload crosses in parts (message-parts.ts):
 * the task's parts are kept here while its lease lasts, for its worker to fetch one by one.
 */
import { performance } from 'node:perf_hooks';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import { connectToNats, type NatsConnectionSettings } from '../../runtime/transport/nats/connection.js';
import { BoundedCache, type CacheLimits } from '../parallel/bounded-cache.js';
import { datasetBytes, datasetDigest, weightsBytes } from '../parallel/content-keys.js';
import type { TaskOutcome, ThreadTask } from '../parallel/training-task.js';
import { postOutcome } from '../parallel/result-checks.js';
import type { TrainingWorkerData } from '../parallel/training-worker.js';
import type { Weights } from '../models/weights.js';
import type { Dataset } from '../training/dataset.js';
import { decodeFrame, encodeFrame } from './frame.js';
import { PartsInbox, type TransferHeader, partBytes, partOf, transferHeader } from './message-parts.js';
import {
  type NextRequest,
  NextRequestSchema,
  PROTOCOL_VERSION,
  PartRequestSchema,
  type ResultRequest,
  ResultPartSchema,
  ResultRequestSchema,
  type WireTask,
  describeIssues,
  subjects,
  taskKey,
} from './protocol.js';

export interface NatsBridgeSettings {
  connection: NatsConnectionSettings;
  /** Subject prefix (protocol.ts DEFAULT_TRAIN_SUBJECT). */
  subject: string;
  /** How long a worker may hold a task before it goes to another (ms of real time). */
  leaseMs: number;
  /** Leases a task gets before its client trains in the simulation's process. */
  attempts: number;
  /** How long a worker's `next` is held when there is no task (ms). */
  holdMs: number;
}

interface Queued {
  id: number;
  wire: Omit<WireTask, 'data' | 'weights'>;
  data: Dataset;
  weights: Weights;
  /** Leases so far. */
  leases: number;
  /** While queued: ends the wait for a worker after leaseMs (no worker is running, or all are busy for that long). */
  stall?: NodeJS.Timeout;
}

const { build, results, signal, cache: limits, settings } = workerData as TrainingWorkerData & { settings: NatsBridgeSettings };
const port = parentPort!;

/** To the pool, with the result's checks made here (result-checks.ts): off the simulation's thread. */
const answer = (outcome: TaskOutcome) => postOutcome(results, signal, outcome);

/** Problems a user should see once (a worker that sends garbage, a message over the server's size limit), not once per message. */
const warned = new Set<string>();
function warnOnce(kind: string, text: string): void {
  if (warned.has(kind)) return;
  warned.add(kind);
  process.stderr.write(`fedsim NATS training bridge: ${text}\n`);
}

const cache = new BoundedCache<Dataset | Weights>(limits);
const queue: Queued[] = [];
/** Tasks queued or leased, by id, until their outcome is posted. */
const open = new Map<number, Queued>();
const leases = new Map<number, { worker: string; timer: NodeJS.Timeout }>();
/** Each worker's cache, as the bridge pictures it (its own limits); dropped when a lease of its ends unanswered. */
const pictures = new Map<string, BoundedCache<true>>();
const waiting: { msg: Msg; request: NextRequest; timer: NodeJS.Timeout }[] = [];
/** When a worker of the right build last asked for work (real ms), whether a task ever waited a lease in vain, and the last refused build. */
let lastAsked = performance.now();
let stalled = false;
let refusedBuild: string | undefined;
/** Tasks too large for one message, by transfer id, while their lease lasts: the worker fetches the parts. */
const outgoing = new Map<string, { taskId: number; worker: string; body: Uint8Array; header: TransferHeader; size: number }>();
/** Results arriving in parts (at most 64 at once, each at most 1 GB). */
const inbox = new PartsInbox(64, 1 << 30);

let nc: NatsConnection;
try {
  nc = await connectToNats({ ...settings.connection, name: settings.connection.name ?? 'fedsim training bridge' });
} catch (error) {
  port.postMessage({ kind: 'failed', error: (error as Error).message });
  throw error;
}
const { next: nextSubject, result: resultSubject, part: partSubject } = subjects(settings.subject);
/** The largest part of a message this server carries (Infinity: no limit known). */
const partSize = partBytes(nc.info?.max_payload ?? Number.POSITIVE_INFINITY);

function resolve<T extends Dataset | Weights>(key: string, carried: T | undefined, bytes: (value: T) => number): T | undefined {
  if (carried === undefined) return cache.get(key) as T | undefined;
  cache.set(key, carried, bytes(carried));
  return carried;
}

port.on('message', (task: ThreadTask) => {
  const data = resolve(task.dataKey, task.data, datasetBytes);
  const weights = resolve(task.weightsKey, task.weights, weightsBytes);
  if (data === undefined || weights === undefined) return answer({ id: task.id, ok: false, missing: true });
  const fields = { client: task.client, seed: task.seed, spec: task.spec, ins: task.ins as Record<string, unknown>, state: task.state, hooks: task.hooks, dataKey: datasetDigest(data), weightsKey: task.weightsKey };
  const queued: Queued = { id: task.id, wire: { id: task.id, key: taskKey(fields), ...fields }, data, weights, leases: 0 };
  open.set(task.id, queued);
  enqueue(queued, 'back');
  dispatch();
});

/**
 * Queues a task (a new one at the back, one whose lease ended at the front). If no worker takes
 * it within leaseMs — none is running, or all stay busy that long — it fails, and its client
 * trains in the simulation's process: a run never waits for workers that may never come.
 */
function enqueue(task: Queued, end: 'front' | 'back'): void {
  // No worker has asked for work for a whole lease, and a task already waited that long in vain: the
  // next ones would too. They train in the simulation's process at once (the result is the same) until
  // a worker asks again.
  if (end === 'back' && stalled && performance.now() - lastAsked > settings.leaseMs) {
    settle(task.id, { id: task.id, ok: false, error: 'no training worker is asking for work; the client trains in the simulation\'s process' });
    return;
  }
  if (end === 'front') queue.unshift(task);
  else queue.push(task);
  clearTimeout(task.stall);
  task.stall = setTimeout(() => {
    if (!queue.includes(task)) return;
    stalled = true;
    const why = refusedBuild ? `the only workers that asked run another build (${refusedBuild}) and were refused` : `none is running on ${nextSubject}, or all stayed busy`;
    warnOnce('stall', `no training worker took a task within ${settings.leaseMs / 1000} s (${why}), so clients train in this process — the same results, no speed-up — until one asks. Start one: fedsim train-worker --nats <url> --subject ${settings.subject}`);
    settle(task.id, { id: task.id, ok: false, error: `no training worker took the task within ${settings.leaseMs} ms; the client trains in the simulation's process` });
  }, settings.leaseMs);
}

/** Leases queued tasks to held `next` requests, oldest of each first. */
function dispatch(): void {
  while (queue.length > 0 && waiting.length > 0) {
    const waiter = waiting.shift()!;
    clearTimeout(waiter.timer);
    lease(queue.shift()!, waiter.msg, waiter.request);
  }
}

function lease(task: Queued, msg: Msg, request: NextRequest): void {
  clearTimeout(task.stall);
  let picture = pictures.get(request.worker);
  if (!picture) pictures.set(request.worker, (picture = new BoundedCache<true>(request.cache)));
  const wire: WireTask = { ...task.wire };
  // The worker's cache makes these operations in this order when it takes the task.
  if (picture.get(task.wire.dataKey) === undefined) {
    wire.data = task.data;
    picture.set(task.wire.dataKey, true, datasetBytes(task.data));
  }
  if (picture.get(task.wire.weightsKey) === undefined) {
    wire.weights = task.weights;
    picture.set(task.wire.weightsKey, true, weightsBytes(task.weights));
  }
  const body = encodeFrame({ v: PROTOCOL_VERSION, kind: 'task', task: wire });
  task.leases++;
  const timer = setTimeout(() => leaseEnded(task.id, request.worker), settings.leaseMs);
  leases.set(task.id, { worker: request.worker, timer });
  if (body.length <= partSize) {
    msg.respond(body);
    return;
  }
  // Over the server's max_payload: the worker fetches it in parts while the lease lasts.
  const transfer = `task-${task.id}-lease-${task.leases}`;
  const header = transferHeader(transfer, body, partSize);
  outgoing.set(transfer, { taskId: task.id, worker: request.worker, body, header, size: partSize });
  msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'parts', ...header }));
}

/** Forgets the parts of a task's transfers (its lease ended, or it settled). */
function dropTransfers(taskId: number): void {
  for (const [transfer, held] of outgoing) if (held.taskId === taskId) outgoing.delete(transfer);
}

/** A lease ended without a result: the worker is presumed gone (its cache with it); the task goes to another, or fails. */
function leaseEnded(id: number, worker: string): void {
  leases.delete(id);
  dropTransfers(id);
  pictures.delete(worker);
  const task = open.get(id);
  if (!task) return;
  if (task.leases >= settings.attempts) {
    return settle(id, { id, ok: false, error: `no training worker answered within ${settings.leaseMs} ms, ${task.leases} times; the client trains in the simulation's process` });
  }
  enqueue(task, 'front');
  dispatch();
}

function settle(id: number, outcome: TaskOutcome): void {
  const lease = leases.get(id);
  if (lease) clearTimeout(lease.timer);
  leases.delete(id);
  dropTransfers(id);
  const task = open.get(id);
  if (task) clearTimeout(task.stall);
  open.delete(id);
  const at = queue.findIndex((t) => t.id === id);
  if (at >= 0) queue.splice(at, 1);
  answer(outcome);
}

type Schema<T> = { safeParse(v: unknown): { success: true; data: T } | { success: false; error: import('zod').ZodError } };

function decodeAs<T>(msg: Msg, schema: Schema<T>, what: string): T | undefined {
  let value: unknown;
  try {
    value = decodeFrame(msg.data, what);
  } catch (error) {
    warnOnce(`frame:${what}`, `refused ${(error as Error).message}`);
    return undefined;
  }
  return checked(value, schema, what);
}

/** `value` if the schema takes it; else undefined, the refusal said once. */
function checked<T>(value: unknown, schema: Schema<T>, what: string): T | undefined {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    warnOnce(`schema:${what}`, `refused ${what}: ${describeIssues(parsed.error)}`);
    return undefined;
  }
  return parsed.data;
}

const nextSubscription: Subscription = nc.subscribe(nextSubject, {
  callback: (error, msg) => {
    if (error) return;
    const request = decodeAs(msg, NextRequestSchema, `a work request on ${nextSubject}`);
    if (!request) return;
    if (request.build !== build) {
      refusedBuild = request.build;
      msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'refused', reason: `the worker runs ${request.build}, the simulation ${build}; their results could differ in the last bit. Start the worker with the simulation's backend (--backend) and fedsim version` }));
      return;
    }
    lastAsked = performance.now();
    stalled = false;
    const timer = setTimeout(() => {
      const at = waiting.findIndex((w) => w.msg === msg);
      if (at >= 0) waiting.splice(at, 1);
      msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'none' }));
    }, settings.holdMs);
    waiting.push({ msg, request, timer });
    dispatch();
  },
});

const partSubscription: Subscription = nc.subscribe(partSubject, {
  callback: (error, msg) => {
    if (error) return;
    const request = decodeAs(msg, PartRequestSchema, `a part request on ${partSubject}`);
    if (!request) return;
    const held = outgoing.get(request.transfer);
    if (!held || held.worker !== request.worker) {
      msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'gone', reason: `transfer ${request.transfer} is not leased to ${request.worker} (its lease ended, or the task settled)` }));
      return;
    }
    if (request.index >= held.header.parts) {
      msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'gone', reason: `transfer ${request.transfer} has ${held.header.parts} parts; part ${request.index} was asked for` }));
      return;
    }
    msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'part', ...partOf(held.body, held.header, held.size, request.index) }));
  },
});

/** A result or a part of one, on the result subject: a part is acknowledged and kept until its result is whole. */
function resultOf(msg: Msg): ResultRequest | undefined {
  let value: unknown;
  try {
    value = decodeFrame(msg.data, `a result on ${resultSubject}`);
  } catch (error) {
    warnOnce('frame:result', `refused ${(error as Error).message}`);
    return undefined;
  }
  if ((value as { kind?: unknown } | null)?.kind !== 'result-part') return checked(value, ResultRequestSchema, `a result on ${resultSubject}`);
  const part = checked(value, ResultPartSchema, `a result part on ${resultSubject}`);
  if (!part) return undefined;
  let whole: Uint8Array | undefined;
  try {
    whole = inbox.add({ ...part, transfer: `${part.worker}/${part.transfer}` });
  } catch (error) {
    warnOnce('parts:result', `refused a result sent in parts by ${part.worker}: ${(error as Error).message}`);
    return undefined;
  }
  if (whole === undefined) {
    msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'ack' }));
    return undefined;
  }
  try {
    return checked(decodeFrame(whole, `a result sent in parts by ${part.worker}`), ResultRequestSchema, `a result sent in parts by ${part.worker}`);
  } catch (error) {
    warnOnce('frame:result', `refused ${(error as Error).message}`);
    return undefined;
  }
}

const resultSubscription: Subscription = nc.subscribe(resultSubject, {
  callback: (error, msg) => {
    if (error) return;
    const result = resultOf(msg);
    // A refused result is not acknowledged: the lease runs out and another worker trains the task.
    if (!result) return;
    msg.respond(encodeFrame({ v: PROTOCOL_VERSION, kind: 'ack' }));
    const task = open.get(result.id);
    // A second copy, or a result for another run's task under the same id: ignored.
    if (!task || task.wire.key !== result.key) return;
    const { outcome } = result;
    if (outcome.kind === 'missing') {
      // The worker lacks what the picture says it holds: start its picture over and send the task again.
      pictures.delete(result.worker);
      const lease = leases.get(result.id);
      if (lease) clearTimeout(lease.timer);
      leases.delete(result.id);
      enqueue(task, 'front');
      return dispatch();
    }
    if (outcome.kind === 'failed') return settle(result.id, { id: result.id, ok: false, error: `training worker ${result.worker}: ${outcome.error}` });
    settle(result.id, { id: result.id, ok: true, result: outcome.result });
  },
});

// Subscriptions are registered with the server before the pool is told it is ready.
await nc.flush();
port.postMessage({ kind: 'ready', build });

// The thread ends when the pool terminates it; nothing to drain (tasks under way are abandoned, as with threads).
void nextSubscription;
void resultSubscription;
void partSubscription;
