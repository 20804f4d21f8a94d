/**
 * The building blocks every message schema shares: ids, tensors, shapes, dtypes and
 * command arguments. Kept apart from schemas.ts so that the plan schema (which the
 * message schemas include) can use them without an import cycle.
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { isTensor } from './tensor-codec.js';

/** Object ids: short, printable, no spaces (they appear in logs and pointer strings). */
export const IdSchema = z.string().regex(/^[A-Za-z0-9_.:#@-]{1,128}$/, 'an object id: 1–128 characters from A–Z a–z 0–9 _ . : # @ -');
export const ActorIdSchema = z.string().regex(/^[^\s\u2192]{1,128}$/, 'an actor id: 1–128 characters, no spaces');

/** A live tfjs tensor (only ever present in payloads that did not cross a wire, or were decoded from one). */
export const TensorSchema = z.custom<tf.Tensor>((v) => isTensor(v) && !v.isDisposed, { message: 'a live tf.Tensor' });

export const ShapeSchema = z.array(z.number().int().nonnegative()).max(16);
export const DTypeSchema = z.enum(['float32', 'int32', 'bool', 'string', 'complex64']);

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

/**
 * A value's contributions as a worker tells another (privacy labels, src/actors/privacy/label.ts):
 * [part id, contributor, "num/den", who may see that part] tuples, or null for a value that
 * is no sum of contributions. A part id is minted by the worker that made the value (`bob~<incarnation>#12`, see PartIds).
 * Only labels sent by workers of the federation are believed; others count as the sender's own.
 */
export const ContributionsSchema = z
  .array(z.tuple([z.string().regex(/^\S{1,200}#[1-9][0-9]{0,15}$/, 'a part id worker#n'), ActorIdSchema, z.string().regex(/^-?[0-9]{1,40}\/[1-9][0-9]{0,39}$/, 'a weight num/den'), z.array(ActorIdSchema).max(1024)]))
  .max(4096)
  .nullable();
