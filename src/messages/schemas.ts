/**
 * The protocol: one zod schema per message type, and the TypeScript union they describe.
 *
 * A worker validates every payload against its type's schema before acting on it,
 * so malformed input becomes an error reply instead of a half-applied change.
 * Object ids are chosen by the sender (promise pipelining: the pointer to a result
 * exists before the result does), so they are validated like any other input.
 */
import { z } from 'zod';

import { ActorIdSchema, ArgSchema, ContributionsSchema, DTypeSchema, IdSchema, ShapeSchema, TensorSchema } from './schema-primitives.js';
import { PlanSchema } from './plan-schema.js';
import { MODEL_MESSAGE_SCHEMAS, MODEL_ONE_WAY_TYPES } from './model-messages.js';
import { RingReplySchema, SMPC_MESSAGE_SCHEMAS } from './smpc-schemas.js';

export { ActorIdSchema, ArgSchema, ContributionsSchema, IdSchema, TensorSchema, type Arg } from './schema-primitives.js';

const UsersSchema = z.array(ActorIdSchema).max(1024);
const TagSchema = z.string().min(1).max(256);

/** Who may see an object and how it is described; travels with the object on send, move and get. */
export const ObjectMetaSchema = z.strictObject({
  requiresGrad: z.boolean().optional(),
  /** Only these actors may get (or receive by move) the object; results computed from it inherit the restriction. */
  allowedUsers: UsersSchema.nullable().optional(),
  /** What a private object is a sum of (worker to worker only; see ContributionsSchema). */
  contributions: ContributionsSchema.optional(),
  tags: z.array(TagSchema).max(64).optional(),
  description: z.string().max(4096).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;

export const TensorValueSchema = z.strictObject({
  kind: z.literal('tensor'),
  tensor: TensorSchema,
  /** The receiver keeps it as a tf.Variable (updated in place by assign ops). */
  variable: z.strictObject({ trainable: z.boolean() }).optional(),
});
/** A pointer stored on a worker (pointer chains): `owned` pointers delete their target when deleted. */
export const PointerValueSchema = z.strictObject({
  kind: z.literal('pointer'),
  location: ActorIdSchema,
  idAtLocation: IdSchema,
  shape: ShapeSchema.optional(),
  dtype: DTypeSchema.optional(),
  owned: z.boolean(),
});
/** A plan (see plan-schema.ts): its op list and state tensors, stored by reference and run with runPlan. */
export const PlanValueSchema = z.strictObject({ kind: z.literal('plan'), plan: PlanSchema });
export const ValueSchema = z.discriminatedUnion('kind', [TensorValueSchema, PointerValueSchema, PlanValueSchema]);
export type WireValue = z.infer<typeof ValueSchema>;
export type PointerValue = z.infer<typeof PointerValueSchema>;
export type PlanObjectValue = z.infer<typeof PlanValueSchema>;

const SearchResultSchema = z.strictObject({
  id: IdSchema,
  kind: z.enum(['tensor', 'pointer', 'plan', 'ring', 'error']),
  shape: ShapeSchema.optional(),
  dtype: DTypeSchema.optional(),
  tags: z.array(TagSchema),
  description: z.string().optional(),
  /** With `preview`: the object printed (`tensor([1, 2])`), when the asker may see it. */
  preview: z.string().optional(),
  /** With `preview`: who may see the object, when the asker may not (nothing of its value is sent). */
  privateTo: z.array(ActorIdSchema).optional(),
});
export type SearchResult = z.infer<typeof SearchResultSchema>;

/** Payload schemas, by message type. */
export const MessageSchemas = {
  /** Store `value` under `id`. One-way, unless `ack` asks for a reply (used by move). */
  object: z.strictObject({ id: IdSchema, value: ValueSchema, meta: ObjectMetaSchema.optional(), ack: z.boolean().optional() }),
  /**
   * Send the object back and remove it (PySyft's get). A worker pulling it into its own store
   * (remoteGet) says how many elements it has room for: a larger object is refused and stays.
   */
  objectRequest: z.strictObject({ id: IdSchema, maxElements: z.number().int().min(0).optional() }),
  /** Run an op; results are stored under the sender-chosen `resultIds`. One-way (pipelined). */
  command: z.strictObject({ op: z.string().min(1).max(64), args: z.array(ArgSchema).max(64), resultIds: z.array(IdSchema).max(1024) }),
  /** Remove objects; unknown ids are ignored (deletes are idempotent). One-way. */
  delete: z.strictObject({ ids: z.array(IdSchema).min(1).max(1_000_000) }),
  getShape: z.strictObject({ id: IdSchema }),
  /** Objects whose tags (or id) match every query term. */
  search: z.strictObject({
    query: z.array(TagSchema).max(32),
    /** Also print each object the asker may see (the objects' own permission checks apply; see listObjects()). */
    preview: z.boolean().optional(),
  }),
  /** Send the object straight to worker `to` (same id) and remove it here once `to` has it. */
  move: z.strictObject({ id: IdSchema, to: ActorIdSchema }),
  /** The object here is a pointer: fetch its target from where it points and store it here instead. */
  remoteGet: z.strictObject({ id: IdSchema }),
  /** Gradient of the object (a tracked tensor) with respect to every tracked leaf it depends on. */
  backward: z.strictObject({ id: IdSchema }),
  /** Remove every object. */
  clear: z.strictObject({}),
  /** Run a stored plan on stored tensors (one message for all its ops); results go under `resultIds`. One-way (pipelined). */
  runPlan: z.strictObject({ planId: IdSchema, args: z.array(z.strictObject({ ref: IdSchema })).max(64), resultIds: z.array(IdSchema).max(64) }),
  /**
   * Train with a stored plan, in one message: for each of `epochs` epochs, shuffle the
   * rows of `data`/`target` (worker stream `shuffleStream`, default `shuffle`) and run
   * the plan on every minibatch of `batchSize` rows. The plan takes (x, y), returns its
   * loss first, and updates its state with assign ops. Answered with the mean loss.
   */
  runPlanLoop: z.strictObject({
    planId: IdSchema,
    data: IdSchema,
    target: IdSchema,
    epochs: z.number().int().min(1).max(1_000_000),
    batchSize: z.number().int().min(1),
    shuffle: z.boolean().optional(),
    shuffleStream: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'a stream name: 1–64 of A–Z a–z 0–9 _ . : -').optional(),
    dropLast: z.boolean().optional(),
  }),
  /** Add tags and/or set the description of an object. One-way. */
  setMeta: z.strictObject({ id: IdSchema, tags: z.array(TagSchema).max(64).optional(), description: z.string().max(4096).optional() }),
  /** Answer to a request (correlated by the envelope's inReplyTo). */
  reply: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('ack') }),
    z.strictObject({ kind: z.literal('object'), id: IdSchema, value: ValueSchema, meta: ObjectMetaSchema }),
    z.strictObject({ kind: z.literal('shape'), shape: ShapeSchema, dtype: DTypeSchema }),
    z.strictObject({ kind: z.literal('search'), results: z.array(SearchResultSchema) }),
    /** runPlanLoop's answer: sample-weighted mean of the per-batch losses (null when it is not finite), batches run, rows seen. */
    z.strictObject({ kind: z.literal('planLoop'), meanLoss: z.number().nullable(), steps: z.number().int().nonnegative(), samples: z.number().int().nonnegative() }),
    /** smpc/get's answer: one share (see smpc-schemas.ts). */
    RingReplySchema,
  ]),
  /** Error answer (the runtime's ErrorPayload). */
  error: z.object({ name: z.string(), message: z.string(), where: z.record(z.string(), z.unknown()).optional(), data: z.record(z.string(), z.unknown()).optional() }),
  /** Remote models, optimisers and loader permutations (issue #4): see model-messages.ts. */
  ...MODEL_MESSAGE_SCHEMAS,
  /** Fixed precision and additive sharing (PySyft's FixedPrecisionTensor / AdditiveSharingTensor): see smpc-schemas.ts. */
  ...SMPC_MESSAGE_SCHEMAS,
} as const;

export type MessageType = keyof typeof MessageSchemas;
export type PayloadOf<T extends MessageType> = z.infer<(typeof MessageSchemas)[T]>;
/** The protocol as one discriminated union. */
export type Message = { [T in MessageType]: { type: T; payload: PayloadOf<T> } }[MessageType];
export type ReplyPayload = PayloadOf<'reply'>;
export type ObjectReply = Extract<ReplyPayload, { kind: 'object' }>;
export type PlanLoopReply = Extract<ReplyPayload, { kind: 'planLoop' }>;
export type RingReply = Extract<ReplyPayload, { kind: 'ring' }>;

/** Types a worker always answers (with a reply or an error). */
export const REQUEST_TYPES: ReadonlySet<MessageType> = new Set<MessageType>(['objectRequest', 'getShape', 'search', 'move', 'remoteGet', 'backward', 'clear', 'runPlanLoop', 'smpc/get']);
/** Types answered only when they fail. */
export const ONE_WAY_TYPES: ReadonlySet<MessageType> = new Set<MessageType>(['object', 'command', 'delete', 'setMeta', 'runPlan', ...MODEL_ONE_WAY_TYPES, 'smpc', 'smpc/share', 'smpc/triple', 'smpc/open']);

export function isMessageType(type: string): type is MessageType {
  return Object.hasOwn(MessageSchemas, type);
}

/** One line per problem, for error messages: `args.0.ref: an object id …`. */
export function describeIssues(error: z.ZodError, limit = 4): string {
  const lines = error.issues.slice(0, limit).map((issue) => `${issue.path.length ? issue.path.join('.') : '(payload)'}: ${issue.message}`);
  if (error.issues.length > limit) lines.push(`… and ${error.issues.length - limit} more`);
  return lines.join('; ');
}
