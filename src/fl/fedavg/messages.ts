/**
 * The FedAvg protocol: message types, their zod schemas and wire-size estimates.
 *
 *   me ──fl/run──▶ server                          (request; answered by fl/run-result at the end)
 *   server ──fl/fit──▶ client                      (round r: global weights + training config)
 *   client ──fl/fit-result──▶ server | secure_worker   (the reply: new weights, n_k, loss)
 *   server ──fl/update-rejected──▶ client           (late, unselected or duplicate update)
 *   server ──fl/secure-round / fl/secure-close──▶ secure_worker
 *   secure_worker ──fl/secure-aggregate──▶ server  (only the average)
 *   server ──fl/round-end──▶ me                    (the round's report, for metrics)
 *
 * The cryptographic aggregation options ('additive', 'secagg+') add their own messages:
 * see secure-messages.ts.
 *
 * Every handler validates what it receives with these schemas and answers a
 * malformed message with an error reply instead of failing.
 */
import { z } from 'zod';
import { TrainConfigSchema } from '../training/train-local.js';
import { weightsByteLength } from '../models/weights.js';

export const FL = {
  run: 'fl/run',
  runResult: 'fl/run-result',
  fit: 'fl/fit',
  fitResult: 'fl/fit-result',
  updateRejected: 'fl/update-rejected',
  secureRound: 'fl/secure-round',
  secureClose: 'fl/secure-close',
  secureAggregate: 'fl/secure-aggregate',
  roundEnd: 'fl/round-end',
} as const;

const round = z.number().int().min(1);
const Float32ArraySchema = z.custom<Float32Array>((v) => v instanceof Float32Array, { message: 'expected a Float32Array' });
const WeightsSchema = z.array(Float32ArraySchema).min(1);

export const RunMessageSchema = z.object({}).strict();

export const FitMessageSchema = z.object({
  round,
  weights: WeightsSchema,
  config: TrainConfigSchema,
  /** Where to send the fit result instead of replying to the server (the secure worker). */
  reportTo: z.string().min(1).optional(),
});
export type FitMessage = z.infer<typeof FitMessageSchema>;

export const FitResultSchema = z.object({
  round,
  weights: WeightsSchema,
  numSamples: z.number().int().min(0),
  loss: z.number(),
});
export type FitResult = z.infer<typeof FitResultSchema>;

/** 'use-secure-aggregation': under 'additive' or 'secagg+' the server takes no plain update at all. */
export const RejectionReasonSchema = z.enum(['stale-round', 'future-round', 'not-selected', 'duplicate', 'not-training', 'bad-layout', 'use-secure-worker', 'use-secure-aggregation']);
export type RejectionReason = z.infer<typeof RejectionReasonSchema>;

export const UpdateRejectedSchema = z.object({ round: z.number().int(), currentRound: z.number().int(), reason: RejectionReasonSchema });
export type UpdateRejected = z.infer<typeof UpdateRejectedSchema>;

export const SecureRoundSchema = z.object({ round, clients: z.array(z.string()) });
export type SecureRound = z.infer<typeof SecureRoundSchema>;

export const SecureCloseSchema = z.object({ round });

export const SecureAggregateSchema = z.object({
  round,
  /** The sample-weighted mean of the contributors' weights; null when too few contributed to hide any one of them. */
  weights: WeightsSchema.nullable(),
  numSamples: z.number().int().min(0),
  /** Sample-weighted mean training loss of the contributors (NaN when none). */
  loss: z.number(),
  contributors: z.array(z.string()),
  /** Updates the secure worker refused this round (late, unexpected, duplicate). */
  rejected: z.number().int().min(0),
  /** Why `weights` is null, when the aggregator knows better than "too few to hide each one" (additive, secagg+). */
  skipped: z.string().optional(),
});
export type SecureAggregate = z.infer<typeof SecureAggregateSchema>;

/** What the server reports after each round (to whoever sent fl/run). */
export interface RoundEnd {
  round: number;
  startedAt: number;
  endedAt: number;
  selected: string[];
  /** Clients whose update made it into the aggregate. */
  participants: string[];
  /** Selected clients whose update did not (missed the deadline, lost, or refused). */
  dropped: string[];
  /** Updates refused by the server or the secure worker while this round was open. */
  rejectedUpdates: number;
  /** Sample-weighted mean of the participants' training losses (NaN when none). */
  trainLoss: number;
  numSamples: number;
  /** Central evaluation of the new global model, when the server has a test set or the strategy evaluates. */
  central?: { loss: number; accuracy?: number };
  /** Why the global model was left unchanged this round, if it was. */
  skipped?: string;
  /** The global model after this round. */
  weights: Float32Array[];
}

/** A round's report without the model (what the final answer repeats, in case a report was lost). */
export type RoundSummary = Omit<RoundEnd, 'weights'>;

export interface RunResult {
  rounds: number;
  weights: Float32Array[];
  /** Every round's report, so the requester has them all even if a fault plan dropped an fl/round-end. */
  history: RoundSummary[];
}

/** Fixed part of a message on a wire: type, ids, round, config (an estimate, see wireBytes). */
export const MESSAGE_HEADER_BYTES = 64;
/** Per tensor: dtype, rank and shape. */
export const TENSOR_HEADER_BYTES = 16;

/**
 * The would-be wire size of a message carrying `weights`: the raw float32 bytes plus
 * small fixed headers. An estimate for accounting (bytes per link and round), not a
 * codec; it depends only on the shapes, so it is the same in every run.
 */
export function wireBytes(weights: readonly Float32Array[] | null): number {
  if (!weights) return MESSAGE_HEADER_BYTES;
  return MESSAGE_HEADER_BYTES + TENSOR_HEADER_BYTES * weights.length + weightsByteLength(weights);
}

/** Validates `value` against `schema`; the error names the message type, the sender and the first bad field. */
export function parseMessage<T>(schema: z.ZodType<T>, value: unknown, type: string, from: string, at: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const error = new TypeError(
    `${at}: malformed '${type}' from '${from}': ${issue.path.join('.') || '(payload)'}: ${issue.message}. ` +
      `Send the payload fedsim's FedAvg protocol defines (src/fl/fedavg/messages.ts).`,
  );
  error.name = 'MalformedMessageError';
  throw error;
}
