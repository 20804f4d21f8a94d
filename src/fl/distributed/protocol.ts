/**
 * The distributed-training protocol over NATS: the bridge in the simulation's process
 * (nats-bridge.ts) holds the round's training tasks; `fedsim train-worker` processes PULL
 * them, one at a time, when idle, and send each result back. Pull, not push, because NATS
 * queue groups hand messages out at random, not to the idle worker: 10 equal tasks on 2
 * workers would often split 7/3; a worker that asks only when idle splits them by speed.
 *
 *   worker → <subject>.next     NextRequest            (request/reply; the bridge holds it while it has no task)
 *   bridge → reply              NextReply: a task, 'none' (ask again), or 'refused' (another backend build)
 *   worker → <subject>.result   ResultRequest          (request/reply; the bridge acks even a duplicate)
 *
 * A message over the server's max_payload crosses in parts (message-parts.ts): the bridge
 * answers `next` with `parts` (the task's transfer id, size and sha256) and the worker fetches
 * each part with a PartRequest on <subject>.part; a worker sends a large result as ResultParts
 * on <subject>.result, each acknowledged, the last one once the whole result was taken.
 *
 * A task is a pure function of what it names: the client, the run's seed, the model spec, the
 * FitIns (its weights by digest), the client's state, the algorithm's hooks, and the client's
 * data by content digest. Data and weights travel inside a task only when the bridge's picture
 * of that worker's cache (bounded-cache.ts, limits the worker announces) says it lacks them;
 * a worker that lacks one anyway answers `missing`, and gets the task again carrying it. A
 * worker checks every digest it is sent against the bytes (a mismatch is refused).
 *
 * Every message is a frame (frame.ts) whose value these zod schemas check, strictly.
 */
import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../../runtime/canonical.js';
import { WeightsSchema } from '../rounds/fit.js';

export const PROTOCOL_VERSION = 1;

/** The default subject prefix; runs sharing a NATS server at once need one each (`--train-subject`). */
export const DEFAULT_TRAIN_SUBJECT = 'fedsim.train';

export const subjects = (prefix: string) => ({ next: `${prefix}.next`, result: `${prefix}.result`, part: `${prefix}.part` });

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 digest (64 lowercase hex digits)');
const version = z.literal(PROTOCOL_VERSION);
const workerId = z.string().min(1).max(200);

const Float32ArraySchema = z.custom<Float32Array>((v) => v instanceof Float32Array, { message: 'expected a Float32Array' });
const LabelsSchema = z.custom<Int32Array | Float32Array>((v) => v instanceof Int32Array || v instanceof Float32Array, { message: 'expected an Int32Array or a Float32Array' });

export const CacheLimitsSchema = z.object({ entries: z.number().int().min(1), bytes: z.number().int().min(1) }).strict();

export const NextRequestSchema = z.object({ v: version, kind: z.literal('next'), worker: workerId, build: z.string().max(2000), cache: CacheLimitsSchema }).strict();
export type NextRequest = z.infer<typeof NextRequestSchema>;

export const WireTaskSchema = z
  .object({
    /** The bridge's id for the task (a result names it). */
    id: z.number().int().min(0),
    /** sha256 of everything the training depends on (taskKey): a result is for exactly this task. */
    key: hex64,
    client: z.string().min(1).max(1000),
    seed: z.union([z.number(), z.string().max(1000)]),
    /** Checked by parseModelSpec in the worker. */
    spec: z.unknown(),
    /** The FitIns without its weights (round, config, report, includedRound); the worker checks it with FitInsSchema once the weights are in. */
    ins: z.record(z.string(), z.unknown()),
    state: z.unknown().optional(),
    hooks: z.string().max(200).nullable(),
    dataKey: hex64,
    data: z.object({ x: Float32ArraySchema, y: LabelsSchema }).strict().optional(),
    weightsKey: hex64,
    weights: WeightsSchema.optional(),
  })
  .strict();
export type WireTask = z.infer<typeof WireTaskSchema>;

/** What every part of one large message says about the whole (message-parts.ts TransferHeader). */
const transferFields = {
  transfer: z.string().min(1).max(200),
  parts: z.number().int().min(1),
  bytes: z.number().int().min(0),
  sha256: hex64,
};
const partFields = { ...transferFields, index: z.number().int().min(0), chunk: z.custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'expected a Uint8Array' }) };

/** worker → <subject>.part: one part of the task the bridge answered with `parts`. */
export const PartRequestSchema = z.object({ v: version, kind: z.literal('part-request'), worker: workerId, transfer: transferFields.transfer, index: z.number().int().min(0) }).strict();
export type PartRequest = z.infer<typeof PartRequestSchema>;

/** bridge → worker: the part asked for, or why not (the lease ended: the task went elsewhere). */
export const PartReplySchema = z.discriminatedUnion('kind', [
  z.object({ v: version, kind: z.literal('part'), ...partFields }).strict(),
  z.object({ v: version, kind: z.literal('gone'), reason: z.string().max(2000) }).strict(),
]);

/** worker → <subject>.result: one part of a result too large for one message. */
export const ResultPartSchema = z.object({ v: version, kind: z.literal('result-part'), worker: workerId, ...partFields }).strict();

export const NextReplySchema = z.discriminatedUnion('kind', [
  z.object({ v: version, kind: z.literal('task'), task: WireTaskSchema }).strict(),
  z.object({ v: version, kind: z.literal('parts'), ...transferFields }).strict(),
  z.object({ v: version, kind: z.literal('none') }).strict(),
  z.object({ v: version, kind: z.literal('refused'), reason: z.string().max(2000) }).strict(),
]);
export type NextReply = z.infer<typeof NextReplySchema>;

const finite = z.number().refine(Number.isFinite, { message: 'expected a finite number' });

export const TrainResultSchema = z
  .object({
    weights: WeightsSchema,
    numSamples: z.number().int().min(0),
    // A diverged training's loss (NaN, Infinity) is a result like any other: the client refuses it as it would inline.
    meanLoss: z.number(),
    steps: z.number().int().min(0),
    samplesSeen: z.number().int().min(0),
    dpSgd: z.object({ samplingRate: finite, noiseMultiplier: finite, steps: z.number().int().min(0), clip: finite, delta: finite, examples: z.number().int().min(0) }).strict().optional(),
  })
  .strict();

export const WorkerOutcomeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('trained'), result: TrainResultSchema }).strict(),
  z.object({ kind: z.literal('missing') }).strict(),
  z.object({ kind: z.literal('failed'), error: z.string().max(10_000) }).strict(),
]);
export type WorkerOutcome = z.infer<typeof WorkerOutcomeSchema>;

export const ResultRequestSchema = z.object({ v: version, kind: z.literal('result'), worker: workerId, id: z.number().int().min(0), key: hex64, outcome: WorkerOutcomeSchema }).strict();
export type ResultRequest = z.infer<typeof ResultRequestSchema>;

export const ResultReplySchema = z.object({ v: version, kind: z.literal('ack') }).strict();

/** A zod failure as one line: the message, the first issue's path and problem. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(the message)'}: ${issue.message}`)
    .join('; ');
}

/** The task's key: sha256 of everything its training depends on, data and weights by digest. */
export function taskKey(task: Pick<WireTask, 'client' | 'seed' | 'spec' | 'ins' | 'state' | 'hooks' | 'dataKey' | 'weightsKey'>): string {
  const { client, seed, spec, ins, state, hooks, dataKey, weightsKey } = task;
  return sha256Hex(canonicalJson({ client, seed, spec, ins, state: state ?? null, hooks, dataKey, weightsKey }));
}
