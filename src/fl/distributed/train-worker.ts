/**
 * A training worker process (`fedsim train-worker --nats URL`): asks the bridge of a running
 * experiment for a task when idle, trains it with the very function a client runs inline
 * (runTrainingTask → trainForFit), sends the result back, and asks again (protocol.ts).
 *
 * It holds client data and global weights in a bounded cache by content digest (the limits
 * it announces, so the bridge knows what to send), checks every digest it is sent against the
 * bytes, and refuses — as a `failed` outcome naming the problem, after which the client trains
 * in the simulation's process — a task whose key does not match its fields, whose model spec
 * or FitIns does not parse, or whose algorithm it does not know. Nothing it is sent changes
 * anything but its cache.
 *
 * A worker outlives runs: with no bridge (no experiment running) it waits and asks again.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { type BackendName, describeBackend, initBackend } from '../../runtime/backend.js';
import { fusedDenseEnabled } from '../../runtime/fused-dense/module.js';
import { warmUpFusedDense } from '../../runtime/fused-dense/warm-up.js';
import { connectToNats, type NatsConnectionSettings } from '../../runtime/transport/nats/connection.js';
import { ModelWorkspace } from '../fedavg/workspace.js';
import { parseModelSpec } from '../models/spec.js';
import type { Weights } from '../models/weights.js';
import { type FitIns, FitInsSchema } from '../rounds/fit.js';
import type { Dataset } from '../training/dataset.js';
import { FlConfigError, MalformedMessageError } from '../errors.js';
import { backendBuild } from '../parallel/backend-build.js';
import { BoundedCache, type CacheLimits } from '../parallel/bounded-cache.js';
import { datasetBytes, datasetDigest, weightsBytes, weightsKey } from '../parallel/content-keys.js';
import { runTrainingTask } from '../parallel/training-task.js';
import { DEFAULT_THREAD_CACHE } from '../parallel/training-pool.js';
import { decodeFrame, encodeFrame } from './frame.js';
import { PartsAssembly, type TransferHeader, partBytes, partOf, transferHeader } from './message-parts.js';
import { type NextReply, NextReplySchema, PROTOCOL_VERSION, PartReplySchema, ResultReplySchema, type WireTask, type WorkerOutcome, describeIssues, subjects, taskKey } from './protocol.js';

/** The largest task a worker puts together from parts (a client's data set and the model's weights). */
const MAX_TASK_BYTES = 1 << 30;

export interface TrainWorkerOptions {
  connection: NatsConnectionSettings;
  subject: string;
  backend?: BackendName;
  cache?: CacheLimits;
  /** Fault injection for tests: exit (code 70) on taking this many-th task, before answering it — what a crash mid-round does. */
  crashOnTask?: number;
  /** One line per event (started, each task), for the operator. */
  log?: (line: string) => void;
  /** Stops the loop (after the task under way). */
  signal?: AbortSignal;
}

export interface TrainWorkerSummary {
  worker: string;
  trained: number;
  /** Tasks answered `failed` (refused: digests, key, spec, algorithm; or the training threw). */
  failed: number;
  /** Answers from the bridge that were not a valid message. */
  refused: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runTrainWorker(options: TrainWorkerOptions): Promise<TrainWorkerSummary> {
  const log = options.log ?? (() => {});
  await initBackend(options.backend);
  const backend = describeBackend();
  // Optimised code before the first task (warm-up.ts), as a worker thread does.
  if (fusedDenseEnabled(backend.name as BackendName)) warmUpFusedDense();
  const build = backendBuild(backend);
  const worker = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const limits = options.cache ?? DEFAULT_THREAD_CACHE;
  const nc: NatsConnection = await connectToNats({ ...options.connection, name: options.connection.name ?? `fedsim train-worker ${worker}` });
  const { next, result, part } = subjects(options.subject);
  const partSize = partBytes(nc.info?.max_payload ?? Number.POSITIVE_INFINITY);
  const cache = new BoundedCache<Dataset | Weights>(limits);
  const workspace = new ModelWorkspace();
  const summary: TrainWorkerSummary = { worker, trained: 0, failed: 0, refused: 0 };
  let taken = 0;
  log(`training worker ${worker} on ${build}: asking ${next} for tasks`);
  const request = encodeFrame({ v: PROTOCOL_VERSION, kind: 'next', worker, build, cache: limits });
  try {
    while (!options.signal?.aborted) {
      let reply;
      try {
        reply = await nc.request(next, request, { timeout: 30_000 });
      } catch {
        // No bridge (no experiment running yet, or between runs), or it did not answer: ask again shortly.
        await sleep(250);
        continue;
      }
      let parsed;
      try {
        parsed = NextReplySchema.safeParse(decodeFrame(reply.data, `the bridge's answer on ${next}`));
      } catch (error) {
        parsed = { success: false as const, problem: (error as Error).message };
      }
      if (!parsed.success) {
        // Refused, and the worker carries on: whatever sent it cannot make this worker train anything else.
        summary.refused++;
        log(`refused an answer on ${next}: ${'problem' in parsed ? parsed.problem : describeIssues(parsed.error)} (run the same fedsim version on both sides)`);
        await sleep(250);
        continue;
      }
      let answer = parsed.data;
      if (answer.kind === 'none') continue;
      if (answer.kind === 'refused') throw new FlConfigError(`fedsim train-worker: the bridge refused this worker: ${answer.reason}`, { op: 'train-worker' });
      if (answer.kind === 'parts') {
        // A task over the server's max_payload: fetched part by part (its lease runs meanwhile).
        const { transfer, parts } = answer;
        const whole = await fetchParts(nc, part, worker, answer).catch((error: Error) => {
          log(`could not fetch task ${transfer} in ${parts} parts: ${error.message}`);
          return undefined;
        });
        if (whole === undefined) continue;
        answer = whole;
      }
      if (answer.kind !== 'task') continue;
      const task = answer.task;
      taken++;
      if (options.crashOnTask !== undefined && taken === options.crashOnTask) {
        log(`crashing on task ${task.id} (--crash-on-task ${options.crashOnTask})`);
        process.exit(70);
      }
      const outcome = train(task, cache, workspace);
      if (outcome.kind === 'trained') summary.trained++;
      else if (outcome.kind === 'failed') summary.failed++;
      log(`task ${task.id} (${task.client}, round ${String(task.ins.round)}): ${outcome.kind}${outcome.kind === 'failed' ? `: ${outcome.error}` : ''}`);
      const transferable = encodeFrame({ v: PROTOCOL_VERSION, kind: 'result', worker, id: task.id, key: task.key, outcome });
      try {
        // A result over the server's max_payload goes in parts, each acknowledged; the last ack is the result's.
        const messages = transferable.length <= partSize ? [transferable] : resultParts(transferable, worker, `result-${task.id}-${taken}`, partSize);
        for (const message of messages) {
          const ack = await nc.request(result, message, { timeout: 10_000 });
          ResultReplySchema.parse(decodeFrame(ack.data, `the bridge's ack on ${result}`));
        }
      } catch (error) {
        // The bridge is gone or did not take it: its lease ends and another worker trains the task.
        log(`result of task ${task.id} not acknowledged (${(error as Error).message})`);
      }
    }
  } finally {
    workspace.dispose();
    await nc.drain().catch(() => {});
  }
  return summary;
}

/** The task the bridge answered with `parts`, fetched part by part and checked whole (message-parts.ts). */
async function fetchParts(nc: NatsConnection, subject: string, worker: string, header: TransferHeader): Promise<NextReply> {
  const assembly = new PartsAssembly(header, MAX_TASK_BYTES);
  let whole: Uint8Array | undefined;
  for (let index = 0; index < header.parts; index++) {
    const reply = await nc.request(subject, encodeFrame({ v: PROTOCOL_VERSION, kind: 'part-request', worker, transfer: header.transfer, index }), { timeout: 10_000 });
    const parsed = PartReplySchema.safeParse(decodeFrame(reply.data, `part ${index} of ${header.transfer}`));
    if (!parsed.success) throw new MalformedMessageError(`part ${index} of ${header.transfer}: ${describeIssues(parsed.error)}`);
    if (parsed.data.kind === 'gone') throw new MalformedMessageError(`the bridge no longer holds it: ${parsed.data.reason}`);
    whole = assembly.add(parsed.data);
  }
  if (whole === undefined) throw new MalformedMessageError(`${header.transfer}: not every part came`);
  const parsed = NextReplySchema.safeParse(decodeFrame(whole, `task ${header.transfer}, put together from its parts`));
  if (!parsed.success || parsed.data.kind !== 'task') throw new MalformedMessageError(`task ${header.transfer}, put together from its parts, is not a task${parsed.success ? '' : `: ${describeIssues(parsed.error)}`}`);
  return parsed.data;
}

/** A result too large for one message, as the frames of its parts. */
function resultParts(body: Uint8Array, worker: string, transfer: string, size: number): Uint8Array[] {
  const header = transferHeader(transfer, body, size);
  return Array.from({ length: header.parts }, (_, index) => encodeFrame({ v: PROTOCOL_VERSION, kind: 'result-part', worker, ...partOf(body, header, size, index) }));
}

/** Trains `task`, or says why not; only the cache changes. */
function train(task: WireTask, cache: BoundedCache<Dataset | Weights>, workspace: ModelWorkspace): WorkerOutcome {
  // Data first, then weights: the order the bridge's picture of this cache follows.
  let data: Dataset | undefined;
  if (task.data !== undefined) {
    const digest = datasetDigest(task.data);
    if (digest !== task.dataKey) return { kind: 'failed', error: `the data sent for client '${task.client}' has digest ${digest}, not the ${task.dataKey} the task names; refused` };
    cache.set(task.dataKey, task.data, datasetBytes(task.data));
    data = task.data;
  } else data = cache.get(task.dataKey) as Dataset | undefined;
  let weights: Weights | undefined;
  if (task.weights !== undefined) {
    const digest = weightsKey(task.weights);
    if (digest !== task.weightsKey) return { kind: 'failed', error: `the weights sent have digest ${digest}, not the ${task.weightsKey} the task names; refused` };
    cache.set(task.weightsKey, task.weights, weightsBytes(task.weights));
    weights = task.weights;
  } else weights = cache.get(task.weightsKey) as Weights | undefined;
  if (data === undefined || weights === undefined) return { kind: 'missing' };
  const key = taskKey(task);
  if (key !== task.key) return { kind: 'failed', error: `task ${task.id}'s fields digest to ${key}, not the key ${task.key} it carries; refused` };
  try {
    const spec = parseModelSpec(task.spec, `task ${task.id}: model`);
    const insParsed = FitInsSchema.safeParse({ ...task.ins, weights });
    if (!insParsed.success) return { kind: 'failed', error: `task ${task.id}: the FitIns does not parse: ${describeIssues(insParsed.error)}` };
    const result = runTrainingTask({ client: task.client, seed: task.seed, spec, data, ins: insParsed.data as FitIns, state: task.state, hooks: task.hooks }, workspace);
    return { kind: 'trained', result };
  } catch (error) {
    return { kind: 'failed', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}
