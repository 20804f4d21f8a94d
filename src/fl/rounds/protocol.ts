/**
 * The round engine's protocol: message types, schemas, wire sizes.
 *
 *   me ──fl/run {runId}──▶ server ──fl/run-accepted──▶ me     (retried by me until accepted)
 *   server ──fl/fit (FitIns)──▶ client                          (retried while the round collects)
 *   client ──fl/fit-result (FitRes)──▶ server | helper          (per mode; a retry is answered from storage)
 *   server ──fl/update-rejected──▶ client                       (late, unselected, duplicate…)
 *   server ──fl/round-end──▶ me                                 (each round's report)
 *   server ──fl/run-result {runId}──▶ me ──fl/run-ack──▶ server (re-sent until acknowledged)
 *
 * Every message is safe to deliver twice and safe to lose: the run is named by `runId`,
 * a round by its number, and every receiver answers a repeat from what it did.
 * Aggregators add their own messages (see src/fl/aggregators/).
 */
import { z } from 'zod';
import { MalformedMessageError } from '../errors.js';
import type { FlErrorKind } from '../errors.js';
import type { RoundNotes } from '../strategies/strategy.js';
import type { DropCounts, DropReason } from './drop-reasons.js';

export const FL = {
  run: 'fl/run',
  runAccepted: 'fl/run-accepted',
  runResult: 'fl/run-result',
  runAck: 'fl/run-ack',
  fit: 'fl/fit',
  fitResult: 'fl/fit-result',
  updateRejected: 'fl/update-rejected',
  roundEnd: 'fl/round-end',
} as const;

const runId = z.string().min(1).max(200);
export const RunMessageSchema = z.object({ runId }).strict();
export type RunMessage = z.infer<typeof RunMessageSchema>;
export const RunAckSchema = z.object({ runId }).strict();

/** Why the server refused an update (a reply to the sender, so it can learn why). */
export const RejectionReasonSchema = z.enum(['stale-round', 'future-round', 'not-selected', 'duplicate', 'inconsistent', 'not-collecting', 'bad-layout', 'out-of-range', 'wrong-receiver']);
export type RejectionReason = z.infer<typeof RejectionReasonSchema>;
export const UpdateRejectedSchema = z.object({ round: z.number().int(), currentRound: z.number().int(), reason: RejectionReasonSchema });
export type UpdateRejected = z.infer<typeof UpdateRejectedSchema>;

/** A selected client that took no part in the aggregate, and why. */
export interface FailureSummary {
  clientId: string;
  kind: FlErrorKind;
  reason: string;
  /** Why it dropped out, as a report counts it (drop-reasons.ts). */
  drop?: DropReason;
}

/** What the server reports after each round (to whoever started the run). */
export interface RoundEnd {
  round: number;
  startedAt: number;
  endedAt: number;
  selected: string[];
  /** Clients whose update made it into the aggregate. */
  participants: string[];
  /** Selected clients whose update did not (missed the deadline, lost, refused). */
  dropped: string[];
  /** Why each dropped client is missing. */
  failures: FailureSummary[];
  /** Selected clients whose input reached the aggregation (before the strategy stepped, so also in a skipped round). */
  finished: number;
  /** The dropped clients counted by why (drop-reasons.ts). */
  drops: DropCounts;
  /**
   * Straggler wait, virtual ms: from the first update reaching the server to the round's end —
   * how long the fastest participant's work waited for slower clients (and for the deadline,
   * when some never came). 0 when one update ends the round; the whole round when no update
   * came. Absent for a round that collected nothing, and under aggregators whose server does
   * not see updates arrive (the secure modes).
   */
  stragglerWaitMs?: number;
  /** Updates refused by the server or a helper while this round was open. */
  rejectedUpdates: number;
  /** Sample-weighted mean of the participants' training losses (NaN when none). */
  trainLoss: number;
  numSamples: number;
  /** Central evaluation of the new global model, when the server has a test set or the strategy evaluates. */
  central?: { loss: number; accuracy?: number };
  /** Why the global model was left unchanged this round, if it was. */
  skipped?: string;
  /** What the strategy noted about the round, by label (the same data as the round's marks in the log; e.g. `dp`: ε so far). */
  notes?: RoundNotes;
  /** The global model after this round. */
  weights: Float32Array[];
}

/** A round's report without the model (what the final answer repeats, in case a report was lost). */
export type RoundSummary = Omit<RoundEnd, 'weights'>;

export interface RunOutcome {
  runId: string;
  /** Rounds committed or skipped (the last round's number when the run completed). */
  rounds: number;
  weights: Float32Array[];
  /** Every round's report, so the requester has them all even if a report was lost. */
  history: RoundSummary[];
  /** Set when the run stopped early: why, whose problem it is, and where. */
  failure?: { kind: FlErrorKind; round: number; client?: string; detail: string };
  /** Set when the strategy ended the run before round `beforeRound` (Strategy.stopBefore): the run is complete, not failed. */
  stopped?: RunStop;
}

/** A run the strategy ended early (a privacy budget spent): before which round, and why. */
export interface RunStop {
  beforeRound: number;
  reason: string;
}

/** Fixed part of a message on a wire: type, ids, round, config (an estimate, see wireBytes). */
export const MESSAGE_HEADER_BYTES = 64;
/** Per tensor: dtype, rank and shape. */
export const TENSOR_HEADER_BYTES = 16;

/**
 * The would-be wire size of a message carrying these arrays as float32 (4 bytes a value,
 * whatever their type in memory) plus small fixed headers. An estimate for accounting
 * (bytes per link and round), not a codec; it depends only on the shapes, so it is the
 * same in every run.
 */
export function wireBytes(...groups: (readonly { length: number }[] | null | undefined)[]): number {
  let bytes = MESSAGE_HEADER_BYTES;
  for (const arrays of groups) if (arrays) for (const a of arrays) bytes += TENSOR_HEADER_BYTES + 4 * a.length;
  return bytes;
}

/** Validates `value` against `schema`; the error names the message type, the sender and the first bad field. */
export function parseMessage<T>(schema: z.ZodType<T>, value: unknown, type: string, from: string, at: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new MalformedMessageError(
    `${at}: malformed '${type}' from '${from}': ${issue.path.join('.') || '(payload)'}: ${issue.message}. ` +
      `Send the payload fedsim's FL protocol defines (src/fl/rounds/protocol.ts, fit.ts and the aggregator's messages).`,
    { from, type },
  );
}
