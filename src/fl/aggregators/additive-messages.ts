/**
 * The messages of 'additive' aggregation (PySyft's "encrypted gradient aggregation" among
 * the clients themselves):
 *
 *   server ──fl/fit {report: {protocol: additive, peers, base, precisionFractional}}──▶ client
 *   client ──fl/additive-share {round, share}──▶ every other peer   (one additive share of its packed update)
 *   client ──fl/additive-sum {round, sum}──▶ server                 (the sum of the shares it received)
 *   client ──fl/additive-abort {round, reason}──▶ server            (it got two different shares from one peer)
 */
import { z } from 'zod';
import { MESSAGE_HEADER_BYTES } from '../rounds/protocol.js';

export const ADDITIVE = {
  share: 'fl/additive-share',
  sum: 'fl/additive-sum',
  abort: 'fl/additive-abort',
} as const;

const round = z.number().int().min(1);
const uint64s = z.custom<BigUint64Array>((v) => v instanceof BigUint64Array, { message: 'expected a BigUint64Array (values in Z_2^64)' });

export const AdditiveReportSchema = z
  .object({
    protocol: z.literal('additive'),
    /** Every client of the round, sorted; each shares its update among the others. */
    peers: z.array(z.string().min(1)).min(3),
    base: z.number().int().min(2),
    precisionFractional: z.number().int().min(0),
  })
  .strict();
export type AdditiveReport = z.infer<typeof AdditiveReportSchema>;

export const AdditiveShareSchema = z.object({ round, share: uint64s }).strict();
export const AdditiveSumSchema = z.object({ round, sum: uint64s }).strict();
export const AdditiveAbortSchema = z.object({ round, reason: z.string().max(2000) }).strict();

/** Wire size of a message carrying one vector of 64-bit ring elements: 8 bytes each, plus the header. */
export function ringVectorBytes(length: number): number {
  return MESSAGE_HEADER_BYTES + 8 * length;
}

/** The stream a client splits its round-r update with (under `actor/<id>/`): the same shares however often it is asked. */
export const sharesStreamName = (round: number) => `additive/shares/round-${round}`;

export function sameVector(a: BigUint64Array, b: BigUint64Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
