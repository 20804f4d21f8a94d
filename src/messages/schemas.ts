/**
 * The protocol: one zod schema per message type, and the TypeScript union they describe.
 *
 * A worker validates every payload against its type's schema before acting on it,
 * so malformed input becomes an error reply instead of a half-applied change.
 * Object ids are chosen by the sender (promise pipelining: the pointer to a result
 * exists before the result does), so they are validated like any other input.
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { isTensor } from './tensor-codec.js';

/** Object ids: short, printable, no spaces (they appear in logs and pointer strings). */
export const IdSchema = z.string().regex(/^[A-Za-z0-9_.:#@-]{1,128}$/, 'an object id: 1–128 characters from A–Z a–z 0–9 _ . : # @ -');
export const ActorIdSchema = z.string().regex(/^[^\s\u2192]{1,128}$/, 'an actor id: 1–128 characters, no spaces');

/** A live tfjs tensor (only ever present in payloads that did not cross a wire, or were decoded from one). */
export const TensorSchema = z.custom<tf.Tensor>((v) => isTensor(v) && !v.isDisposed, { message: 'a live tf.Tensor' });

const ShapeSchema = z.array(z.number().int().nonnegative()).max(16);
const DTypeSchema = z.enum(['float32', 'int32', 'bool', 'string', 'complex64']);
const UsersSchema = z.array(ActorIdSchema).max(1024);
const TagSchema = z.string().min(1).max(256);

/** A literal argument: JSON scalars (finite numbers only) and nested arrays; `{ref}` names a stored object. */
export type Arg = number | string | boolean | null | { ref: string } | Arg[];
// Refs first and laziness only for nesting: this schema runs for every argument of every command.
export const ArgSchema: z.ZodType<Arg> = z.union([
  z.strictObject({ ref: IdSchema }),
  z.number(),
  z.string().max(4096),
  z.boolean(),
  z.null(),
  z.array(z.lazy(() => ArgSchema)).max(100_000),
]);

/** Who may see an object and how it is described; travels with the object on send, move and get. */
export const ObjectMetaSchema = z.strictObject({
  requiresGrad: z.boolean().optional(),
  /** Only these actors may get (or receive by move) the object; results computed from it inherit the restriction. */
  allowedUsers: UsersSchema.nullable().optional(),
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
export const ValueSchema = z.discriminatedUnion('kind', [TensorValueSchema, PointerValueSchema]);
export type WireValue = z.infer<typeof ValueSchema>;
export type PointerValue = z.infer<typeof PointerValueSchema>;

const SearchResultSchema = z.strictObject({
  id: IdSchema,
  kind: z.enum(['tensor', 'pointer', 'error']),
  shape: ShapeSchema.optional(),
  dtype: DTypeSchema.optional(),
  tags: z.array(TagSchema),
  description: z.string().optional(),
});
export type SearchResult = z.infer<typeof SearchResultSchema>;

/** Payload schemas, by message type. */
export const MessageSchemas = {
  /** Store `value` under `id`. One-way, unless `ack` asks for a reply (used by move). */
  object: z.strictObject({ id: IdSchema, value: ValueSchema, meta: ObjectMetaSchema.optional(), ack: z.boolean().optional() }),
  /** Send the object back and remove it (PySyft's get). */
  objectRequest: z.strictObject({ id: IdSchema }),
  /** Run an op; results are stored under the sender-chosen `resultIds`. One-way (pipelined). */
  command: z.strictObject({ op: z.string().min(1).max(64), args: z.array(ArgSchema).max(64), resultIds: z.array(IdSchema).max(1024) }),
  /** Remove objects; unknown ids are ignored (deletes are idempotent). One-way. */
  delete: z.strictObject({ ids: z.array(IdSchema).min(1).max(1_000_000) }),
  getShape: z.strictObject({ id: IdSchema }),
  /** Objects whose tags (or id) match every query term. */
  search: z.strictObject({ query: z.array(TagSchema).max(32) }),
  /** Send the object straight to worker `to` (same id) and remove it here once `to` has it. */
  move: z.strictObject({ id: IdSchema, to: ActorIdSchema }),
  /** The object here is a pointer: fetch its target from where it points and store it here instead. */
  remoteGet: z.strictObject({ id: IdSchema }),
  /** Gradient of the object (a tracked tensor) with respect to every tracked leaf it depends on. */
  backward: z.strictObject({ id: IdSchema }),
  /** Remove every object. */
  clear: z.strictObject({}),
  /** Add tags and/or set the description of an object. One-way. */
  setMeta: z.strictObject({ id: IdSchema, tags: z.array(TagSchema).max(64).optional(), description: z.string().max(4096).optional() }),
  /** Answer to a request (correlated by the envelope's inReplyTo). */
  reply: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('ack') }),
    z.strictObject({ kind: z.literal('object'), id: IdSchema, value: ValueSchema, meta: ObjectMetaSchema }),
    z.strictObject({ kind: z.literal('shape'), shape: ShapeSchema, dtype: DTypeSchema }),
    z.strictObject({ kind: z.literal('search'), results: z.array(SearchResultSchema) }),
  ]),
  /** Error answer (the runtime's ErrorPayload). */
  error: z.object({ name: z.string(), message: z.string(), where: z.record(z.string(), z.unknown()).optional(), data: z.record(z.string(), z.unknown()).optional() }),
} as const;

export type MessageType = keyof typeof MessageSchemas;
export type PayloadOf<T extends MessageType> = z.infer<(typeof MessageSchemas)[T]>;
/** The protocol as one discriminated union. */
export type Message = { [T in MessageType]: { type: T; payload: PayloadOf<T> } }[MessageType];
export type ReplyPayload = PayloadOf<'reply'>;
export type ObjectReply = Extract<ReplyPayload, { kind: 'object' }>;

/** Types a worker always answers (with a reply or an error). */
export const REQUEST_TYPES: ReadonlySet<MessageType> = new Set<MessageType>(['objectRequest', 'getShape', 'search', 'move', 'remoteGet', 'backward', 'clear']);
/** Types answered only when they fail. */
export const ONE_WAY_TYPES: ReadonlySet<MessageType> = new Set<MessageType>(['object', 'command', 'delete', 'setMeta']);

export function isMessageType(type: string): type is MessageType {
  return Object.hasOwn(MessageSchemas, type);
}

/** One line per problem, for error messages: `args.0.ref: an object id …`. */
export function describeIssues(error: z.ZodError, limit = 4): string {
  const lines = error.issues.slice(0, limit).map((issue) => `${issue.path.length ? issue.path.join('.') : '(payload)'}: ${issue.message}`);
  if (error.issues.length > limit) lines.push(`… and ${error.issues.length - limit} more`);
  return lines.join('; ');
}
