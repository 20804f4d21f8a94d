/**
 * The SecAgg+ messages: their type names, payloads and validation schemas.
 *
 * Every message carries its round, so a late answer from an earlier round can never be
 * mistaken for a current one. Binary fields (keys, ciphertexts, shares, masked vectors) are
 * typed arrays, which the event log digests by content and `payloadBytes` counts raw.
 */
import { z } from 'zod';
import type { SecAggStage } from './errors.js';
import type { RoundConfig } from './params.js';

export const SECAGG = {
  // parent ↔ server
  start: 'secagg/start',
  result: 'secagg/result',
  aborted: 'secagg/aborted',
  // server → client, one per stage
  setup: 'secagg/setup',
  shareKeys: 'secagg/share-keys',
  collect: 'secagg/collect-masked-input',
  consistency: 'secagg/consistency-check',
  unmask: 'secagg/unmask',
  // client → server, the answers
  publicKeys: 'secagg/public-keys',
  shares: 'secagg/encrypted-shares',
  maskedInput: 'secagg/masked-input',
  signature: 'secagg/consistency-signature',
  unmaskShares: 'secagg/unmask-shares',
} as const;

/** The answer type the server waits for in each stage. */
export const ANSWER_OF: Record<SecAggStage, string> = {
  setup: SECAGG.publicKeys,
  'share-keys': SECAGG.shares,
  'collect-masked-input': SECAGG.maskedInput,
  'consistency-check': SECAGG.signature,
  unmask: SECAGG.unmaskShares,
};

// z.custom keeps the plain `Uint8Array` type (z.instanceof narrows it to Uint8Array<ArrayBuffer>).
const bytes = (length?: number) =>
  z
    .custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'expected a Uint8Array' })
    .refine((b) => length === undefined || b.length === length, { message: `expected ${length} bytes` });
const uint32s = z.custom<Uint32Array>((v) => v instanceof Uint32Array, { message: 'expected a Uint32Array' });
const round = z.number().int().nonnegative();
const id = z.string().min(1);

// ── parent ↔ server ───────────────────────────────────────────────────────────

export const StartSchema = z
  .object({
    round,
    /** Client actor ids taking part (order does not matter; the server sorts them). */
    participants: z.array(id).min(2),
    /** Expected vector length; when omitted the first masked input fixes it. */
    vectorLength: z.number().int().positive().optional(),
    /** Overrides the server's parameters for this round. */
    params: z.unknown().optional(),
  })
  .strict();
export type StartPayload = z.infer<typeof StartSchema>;

export interface StageReport {
  stage: SecAggStage;
  /** Clients asked in this stage. */
  asked: number;
  answered: string[];
  /** Asked but did not answer in time (or failed). */
  dropped: string[];
  startedAt: number;
  closedAt: number;
  timedOut: boolean;
}

export interface ResultPayload {
  round: number;
  /**
   * Dequantised sum of the survivors' updates; under the 'ring' encoding, the sum mod m read
   * as a centred integer in [−m/2, m/2) (two's complement), which the encoder decodes further.
   */
  sum: Float32Array;
  /** The unmasked sum of the survivors' quantised (or ring) vectors, mod modulusRange (exact). */
  quantizedSum: Uint32Array;
  /** Clients whose update is in the sum (sorted). */
  survivors: string[];
  /** Participants whose update is not in the sum (sorted). */
  dropped: string[];
  config: RoundConfig;
  stages: StageReport[];
  failures: Array<{ client: string; stage: SecAggStage; error: string }>;
  /** Each client's public keys as announced in setup (hex), for audits and determinism checks. */
  publicKeys: Record<string, { encryption: string; masking: string; signing: string }>;
}

export interface AbortedPayload {
  round: number;
  reason: string;
  stage: SecAggStage;
  survivors: string[];
  threshold: number;
  participants: number;
  failures: Array<{ client: string; stage: SecAggStage; error: string }>;
}

// ── server → client ───────────────────────────────────────────────────────────

export const SetupSchema = z
  .object({
    round,
    config: z
      .object({
        round,
        sampleSize: z.number().int().min(2),
        numShares: z.number().int().min(2),
        threshold: z.number().int().min(2),
        requestedThreshold: z.number().int().min(2).optional(),
        unsafeThreshold: z.literal(true).optional(),
        clippingRange: z.number().positive(),
        quantizationRange: z.number().int().min(2),
        modulusRange: z.number().int().min(3),
        timeout: z.number().positive(),
        encoding: z.literal('ring').optional(),
      })
      .strict(),
    /** This client's neighbourhood, itself included, sorted. */
    neighbours: z.array(id).min(2),
  })
  .strict();
export type SetupPayload = z.infer<typeof SetupSchema>;

export const ShareKeysSchema = z
  .object({
    round,
    /** Public keys of the neighbours (self included) that answered setup, sorted by id. */
    keys: z.array(z.object({ id, encryption: bytes(32), masking: bytes(32), signing: bytes(32) }).strict()),
  })
  .strict();
export type ShareKeysPayload = z.infer<typeof ShareKeysSchema>;

export const CollectSchema = z
  .object({
    round,
    /** Ciphertexts addressed to this client by neighbours that survived share-keys, sorted by sender. */
    shares: z.array(z.object({ from: id, ciphertext: bytes() }).strict()),
  })
  .strict();
export type CollectPayload = z.infer<typeof CollectSchema>;

/** The consistency check: every client whose masked input is in the sum (S2), sorted; each client signs this set once. */
export const ConsistencySchema = z.object({ round, survivors: z.array(id).min(1) }).strict();
export type ConsistencyPayload = z.infer<typeof ConsistencySchema>;

const signed = z.object({ id, signature: bytes(64) }).strict();

export const UnmaskSchema = z
  .object({
    round,
    /** Neighbours whose masked input is in the sum: reveal shares of their self-mask seeds. */
    active: z.array(id),
    /** Neighbours that shared keys but sent no masked input: reveal shares of their mask keys. */
    dropped: z.array(id),
    /** The survivor set of the consistency check (the client compares it with the one it signed). */
    survivors: z.array(id),
    /** Signatures of that set by this client's neighbours, relayed by the server. */
    signatures: z.array(signed),
  })
  .strict();
export type UnmaskPayload = z.infer<typeof UnmaskSchema>;

// ── client → server ───────────────────────────────────────────────────────────

export const PublicKeysSchema = z.object({ round, encryption: bytes(32), masking: bytes(32), signing: bytes(32) }).strict();
export type PublicKeysPayload = z.infer<typeof PublicKeysSchema>;

export const SharesSchema = z
  .object({ round, shares: z.array(z.object({ to: id, ciphertext: bytes() }).strict()) })
  .strict();
export type SharesPayload = z.infer<typeof SharesSchema>;

export const MaskedInputSchema = z.object({ round, masked: uint32s }).strict();
export type MaskedInputPayload = z.infer<typeof MaskedInputSchema>;

/** A client's Ed25519 signature of the survivor set it was shown (consistency.ts). */
export const SignatureSchema = z.object({ round, signature: bytes(64) }).strict();
export type SignaturePayload = z.infer<typeof SignatureSchema>;

const ownedShare = z.object({ owner: id, share: bytes() }).strict();
export const UnmaskSharesSchema = z
  .object({ round, seedShares: z.array(ownedShare), keyShares: z.array(ownedShare) })
  .strict();
export type UnmaskSharesPayload = z.infer<typeof UnmaskSharesSchema>;

/** Schema of each client answer, by message type. */
export const ANSWER_SCHEMAS: Record<string, z.ZodType> = {
  [SECAGG.publicKeys]: PublicKeysSchema,
  [SECAGG.shares]: SharesSchema,
  [SECAGG.maskedInput]: MaskedInputSchema,
  [SECAGG.signature]: SignatureSchema,
  [SECAGG.unmaskShares]: UnmaskSharesSchema,
};

/** One line per zod issue, for error messages. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(payload)'}: ${i.message}`).join('; ');
}
