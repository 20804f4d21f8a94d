/**
 * The messages of FedAvg's cryptographic aggregation options, beside FedAvg's own
 * (messages.ts).
 *
 * aggregation 'additive' (PySyft's "encrypted gradient aggregation", among the clients):
 *   server ──fl/fit {secure: additive, peers}──▶ client
 *   client ──fl/additive-share──▶ every other peer   (one additive share of its weighted update)
 *   client ──fl/additive-sum──▶ server              (the sum of the shares it received)
 *   The server adds the n sums: Σ_k x_k. No message to it carries one client's update.
 *
 * aggregation 'secagg+' (Flower's SecAggPlusWorkflow):
 *   server ──fl/fit {secure: secagg+}──▶ client ──fl/fit-done──▶ server   (trained; no weights)
 *   server ──secagg/start──▶ SecAgg+ server ◀─ four stages ─▶ clients
 *   SecAgg+ server ──secagg/result──▶ server        (the unmasked sum only)
 */
import { z } from 'zod';
import { FitMessageSchema, MESSAGE_HEADER_BYTES } from './messages.js';

export const FL_SECURE = {
  fitDone: 'fl/fit-done',
  additiveShare: 'fl/additive-share',
  additiveSum: 'fl/additive-sum',
} as const;

const round = z.number().int().min(1);
const uint64s = z.custom<BigUint64Array>((v) => v instanceof BigUint64Array, { message: 'expected a BigUint64Array (values in Z_2^64)' });

export const AdditiveFitSchema = z
  .object({
    protocol: z.literal('additive'),
    /** Every client of the round, sorted; each shares its update among the others. */
    peers: z.array(z.string().min(1)).min(3),
    base: z.number().int().min(2),
    precisionFractional: z.number().int().min(0),
  })
  .strict();
export type AdditiveFit = z.infer<typeof AdditiveFitSchema>;

export const SecAggFitSchema = z
  .object({
    protocol: z.literal('secagg+'),
    /** The update is scaled by numSamples / maxWeight (Flower's max_weight). */
    maxWeight: z.number().positive(),
  })
  .strict();
export type SecAggFit = z.infer<typeof SecAggFitSchema>;

/** A fit under a cryptographic aggregation: FedAvg's fit plus how to report. */
export const SecureFitMessageSchema = FitMessageSchema.extend({
  secure: z.discriminatedUnion('protocol', [AdditiveFitSchema, SecAggFitSchema]),
});
export type SecureFitMessage = z.infer<typeof SecureFitMessageSchema>;

export const FitDoneSchema = z.object({ round }).strict();
export type FitDone = z.infer<typeof FitDoneSchema>;

export const AdditiveShareSchema = z.object({ round, share: uint64s }).strict();
export type AdditiveShare = z.infer<typeof AdditiveShareSchema>;

export const AdditiveSumSchema = z.object({ round, sum: uint64s }).strict();
export type AdditiveSum = z.infer<typeof AdditiveSumSchema>;

/** Wire size of a message carrying one vector of 64-bit ring elements: 8 bytes each, plus the header. */
export function ringVectorBytes(length: number): number {
  return MESSAGE_HEADER_BYTES + 8 * length;
}
