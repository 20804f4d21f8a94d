/**
 * The messages of secure multi-party computation on workers (PySyft 0.2's
 * FixedPrecisionTensor and AdditiveSharingTensor, SPDZ-style with a crypto provider):
 *
 *   me ──smpc {op}──▶ worker              one-way commands: fix/float precision, share,
 *                                         share-wise combine/affine ops, Beaver mul/matMul,
 *                                         truncation; to the crypto provider: deal
 *   holder ──smpc/share──▶ owner          one owner's share of a value (or why there is none)
 *   crypto provider ──smpc/triple──▶ owner   its shares of a Beaver triple / truncation pair
 *   owner ──smpc/open──▶ other owners     its share of a masked value being opened (d, e; or z − r)
 *   me ──smpc/get──▶ owner                request: hand over (and forget) a share
 *
 * Results are named by the sender (promise pipelining), and the shares of one shared value
 * have the same object id on every owner. Ring values cross as RingWire (ring-codec.ts).
 */
import { z } from 'zod';
import { RingWireSchema } from './ring-codec.js';
import { ActorIdSchema, ContributionsSchema, IdSchema, ShapeSchema } from './schema-primitives.js';

/** A non-negative integer below 2^64 (a modulus, a scalar or a divisor), in decimal. */
export const DecimalSchema = z.string().regex(/^(0|[1-9][0-9]{0,19})$/, 'a non-negative integer in decimal');
const OwnersSchema = z.array(ActorIdSchema).min(2).max(1024);
const PartySchema = z.number().int().min(0).max(1023);
export const FixedSchema = z.strictObject({ base: z.number().int().min(2).max(1_000_000), precisionFractional: z.number().int().min(0).max(18) });
const ErrorSchema = z.object({ name: z.string(), message: z.string(), where: z.record(z.string(), z.unknown()).optional(), data: z.record(z.string(), z.unknown()).optional() });

/** One-way commands. `resultId` names what the op stores (a share, on an owner). */
export const SmpcCommandSchema = z.discriminatedUnion('op', [
  /** Encode tensor `source` as round(x · base^precision) mod field. */
  z.strictObject({ op: z.literal('fixPrecision'), source: IdSchema, resultId: IdSchema, fixed: FixedSchema, field: DecimalSchema }),
  /** Decode ring tensor `source` back into a float32 tensor. */
  z.strictObject({ op: z.literal('floatPrecision'), source: IdSchema, resultId: IdSchema, fixed: FixedSchema }),
  /** Split `source` (a ring tensor, or an int32 tensor) into additive shares, one per owner, stored under `resultId`. */
  z.strictObject({ op: z.literal('share'), source: IdSchema, resultId: IdSchema, owners: OwnersSchema, field: DecimalSchema }),
  /** Σ ± terms, share-wise (the terms this owner holds shares of; the others count as zero shares). */
  z.strictObject({
    op: z.literal('combine'),
    terms: z.array(z.strictObject({ id: IdSchema, sign: z.union([z.literal(1), z.literal(-1)]) })).min(1).max(4096),
    resultId: IdSchema,
  }),
  /** scalar · source + offset (public scalar; only one owner adds a public offset). */
  z.strictObject({ op: z.literal('affine'), source: IdSchema, scalar: DecimalSchema, offset: RingWireSchema.optional(), resultId: IdSchema }),
  /** This owner's part in a Beaver multiplication x ∘ y (or x @ y) among `owners`, then truncation by `divisor` if given. */
  z.strictObject({
    op: z.literal('beaver'),
    kind: z.enum(['mul', 'matMul']),
    x: IdSchema,
    y: IdSchema,
    resultId: IdSchema,
    party: PartySchema,
    owners: OwnersSchema,
    /** The crypto provider whose triple this owner waits for (triples from anyone else are refused). */
    dealer: ActorIdSchema,
    divisor: DecimalSchema.optional(),
  }),
  /** floor(scalar · source / divisor), shared, with the crypto provider's truncation pair (a fixed-point product by a public real). */
  z.strictObject({
    op: z.literal('truncate'),
    source: IdSchema,
    scalar: DecimalSchema.optional(),
    resultId: IdSchema,
    party: PartySchema,
    owners: OwnersSchema,
    dealer: ActorIdSchema,
    divisor: DecimalSchema,
  }),
  /** The same by PySyft 0.2's two-party local truncation: each owner divides its own share (signed). */
  z.strictObject({ op: z.literal('truncateLocal'), source: IdSchema, scalar: DecimalSchema.optional(), resultId: IdSchema, divisor: DecimalSchema }),
  /** To the crypto provider: deal the triple (or truncation pair) of session `session` to `owners`. */
  z.strictObject({
    op: z.literal('deal'),
    session: IdSchema,
    kind: z.enum(['mul', 'matMul', 'truncate']),
    owners: OwnersSchema,
    field: DecimalSchema,
    xShape: ShapeSchema,
    yShape: ShapeSchema.optional(),
    divisor: DecimalSchema.optional(),
  }),
]);
export type SmpcCommand = z.infer<typeof SmpcCommandSchema>;

export const SMPC_MESSAGE_SCHEMAS = {
  smpc: SmpcCommandSchema,
  /** Store one share under `id`, or record that the value could not be shared (its dependents then fail with the cause). */
  'smpc/share': z.union([
    z.strictObject({
      id: IdSchema,
      share: RingWireSchema,
      /** The shared value's privacy label: who may see it, and what it is a sum of (see ContributionsSchema). */
      allowedUsers: z.array(ActorIdSchema).max(1024).optional(),
      contributions: ContributionsSchema.optional(),
    }),
    z.strictObject({ id: IdSchema, failed: ErrorSchema }),
  ]),
  /** The crypto provider's shares for one session: a, b, c (Beaver) and/or r, rTruncated (truncation). */
  'smpc/triple': z.strictObject({
    session: IdSchema,
    a: RingWireSchema.optional(),
    b: RingWireSchema.optional(),
    c: RingWireSchema.optional(),
    r: RingWireSchema.optional(),
    rTruncated: RingWireSchema.optional(),
    failed: ErrorSchema.optional(),
  }),
  /** An owner's share of the values opened in a session's step (d and e; or c = z − r), or its failure. */
  'smpc/open': z.strictObject({
    session: IdSchema,
    step: z.enum(['beaver', 'truncate']),
    party: PartySchema,
    d: RingWireSchema.optional(),
    e: RingWireSchema.optional(),
    c: RingWireSchema.optional(),
    failed: ErrorSchema.optional(),
  }),
  /** Request: send back the share `id` and forget it (PySyft's get); waits until the share exists. */
  'smpc/get': z.strictObject({ id: IdSchema }),
} as const;

export type SmpcMessageType = keyof typeof SMPC_MESSAGE_SCHEMAS;

/** The answer to smpc/get. */
export const RingReplySchema = z.strictObject({ kind: z.literal('ring'), id: IdSchema, value: RingWireSchema });
