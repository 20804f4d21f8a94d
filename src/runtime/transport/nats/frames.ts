/**
 * What goes over NATS in a live run: `u32 n | n bytes of header JSON | body`.
 *
 * The header says what the frame is — an envelope (its id as sender and serial, receiver,
 * type, cause, the request it answers, whether it is a fault's duplicate, the digest the
 * sender computed) or a control (placement, roster news, quiescence check, collecting a
 * recording, giving the run up) — and is checked against strict zod schemas before anything else. An
 * envelope's body is the message's wire frame (src/messages/wire.ts), decoded by the
 * codec, which is the second check.
 */
import { z } from 'zod';
import { FaultPlanSchema } from '../../faults/fault-plan.js';

const id = z.string().min(1).max(256);

export const EnvelopeHeaderSchema = z
  .object({
    kind: z.literal('envelope'),
    session: id,
    from: id,
    serial: z.number().int().nonnegative(),
    to: id,
    type: z.string().min(1).max(256),
    cause: z.string().max(512).nullable(),
    re: z.string().max(512).optional(),
    copy: z.literal(true).optional(),
    digest: z.string().max(128),
    bytes: z.number().int().nonnegative().optional(),
  })
  .strict();

const RosterEntry = z.object({ id, worker: z.boolean() }).strict();

export const SpawnHeaderSchema = z
  .object({
    kind: z.literal('spawn'),
    session: id,
    /** Epoch ms at which the run began: every process measures time from it. */
    origin: z.number(),
    seed: z.union([z.number(), z.string()]),
    faults: FaultPlanSchema,
    actor: id,
    spec: z.object({ kind: z.string().min(1), input: z.record(z.string(), z.unknown()) }).strict(),
    roster: z.array(RosterEntry),
  })
  .strict();

export const RosterHeaderSchema = z.object({ kind: z.literal('roster'), session: id, add: RosterEntry }).strict();
export const SyncHeaderSchema = z.object({ kind: z.literal('sync'), session: id }).strict();
export const FinishHeaderSchema = z.object({ kind: z.literal('finish'), session: id }).strict();
export const LogChunkHeaderSchema = z.object({ kind: z.literal('log'), session: id, chunk: z.number().int().nonnegative() }).strict();
/** The driver gave the run up (it failed while placing actors): hosts drop their part of it, nothing is collected. */
export const AbandonHeaderSchema = z.object({ kind: z.literal('abandon'), session: id, reason: z.string().max(2048) }).strict();

export const FrameHeaderSchema = z.discriminatedUnion('kind', [EnvelopeHeaderSchema, SpawnHeaderSchema, RosterHeaderSchema, SyncHeaderSchema, FinishHeaderSchema, LogChunkHeaderSchema, AbandonHeaderSchema]);

export type EnvelopeHeader = z.infer<typeof EnvelopeHeaderSchema>;
export type SpawnHeader = z.infer<typeof SpawnHeaderSchema>;
export type FrameHeader = z.infer<typeof FrameHeaderSchema>;

export class FrameError extends Error {
  override name = 'FrameError';
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeFrame(header: FrameHeader, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = utf8.encode(JSON.stringify(header));
  const frame = new Uint8Array(4 + json.byteLength + body.byteLength);
  new DataView(frame.buffer).setUint32(0, json.byteLength, true);
  frame.set(json, 4);
  frame.set(body, 4 + json.byteLength);
  return frame;
}

/** The header (checked) and the body of a frame; FrameError says what is wrong with a bad one. */
export function decodeFrame(frame: Uint8Array): { header: FrameHeader; body: Uint8Array } {
  if (frame.byteLength < 4) throw new FrameError(`a frame of ${frame.byteLength} bytes is too short to hold its header length`);
  const length = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0, true);
  if (4 + length > frame.byteLength) throw new FrameError(`the frame's header claims ${length} bytes but the frame has ${frame.byteLength - 4}`);
  let json: unknown;
  try {
    json = JSON.parse(utf8Decoder.decode(frame.subarray(4, 4 + length)));
  } catch (error) {
    throw new FrameError(`the frame's header is not UTF-8 JSON (${(error as Error).message})`);
  }
  const parsed = FrameHeaderSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FrameError(`the frame's header is not a fedsim frame header: at ${issue.path.join('.') || 'top level'}: ${issue.message}`);
  }
  return { header: parsed.data, body: frame.subarray(4 + length) };
}

/** A control's JSON answer. */
export function encodeJson(value: unknown): Uint8Array {
  return utf8.encode(JSON.stringify(value));
}

export function decodeJson<T>(data: Uint8Array): T {
  return JSON.parse(utf8Decoder.decode(data)) as T;
}
