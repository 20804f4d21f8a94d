/**
 * Why a selected client is not in its round's aggregate, in six kinds a report can count
 * (each dropped client in exactly one, so the counts add up to the round's `dropped`):
 *
 *   refused        it answered the fit with an error (its data, its algorithm, a second fit)
 *   bug            its fit failed with an error that is neither a refusal nor a fault: a bug
 *                  in fedsim or in the algorithm's code (the reason names it)
 *   offline        its availability trace has it offline at some moment of the round (the
 *                  server may say so: the simulator knows the trace), so it could not answer
 *                  all the way through, whatever else happened
 *   over-selected  the round had the K updates it wanted (roundPolicy.overSelection) before
 *                  this client's arrived
 *   deadline       online throughout, but its update was not in when the round's deadline
 *                  closed it: a straggler (or its messages were lost and the retries too late)
 *   fault          anything else: the round ended early without its input (an aggregator that
 *                  cannot complete any more, a secure protocol that dropped it)
 *
 * The kinds are checked in that order, so each drop has exactly one. (`bug` comes last
 * in DROP_REASONS so that the older columns keep their places.)
 */
import type { RoundFailure } from '../strategies/strategy.js';

export const DROP_REASONS = ['offline', 'deadline', 'over-selected', 'refused', 'fault', 'bug'] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export type DropCounts = Record<DropReason, number>;

/** A selected client that took no part in the aggregate, with its kind of drop. */
export type DroppedClient = RoundFailure & { drop: DropReason };

/** What the server knows about how the round ended. */
export interface RoundEnding {
  /** The round completed with its over-selection target of updates. */
  targetMet: boolean;
  /** The round's deadline closed it. */
  deadlineClosed: boolean;
  /** Whether the client was online from the round's start to its end (absent: every client always is). */
  onlineThroughout?: (clientId: string) => boolean;
  /** K, for the over-selected clients' reason. */
  target?: number;
}

export function dropReasonOf(failure: RoundFailure, ending: RoundEnding): DropReason {
  if (failure.kind === 'refusal') return 'refused';
  if (failure.kind === 'bug') return 'bug';
  if (ending.onlineThroughout && !ending.onlineThroughout(failure.clientId)) return 'offline';
  if (ending.targetMet) return 'over-selected';
  if (ending.deadlineClosed) return 'deadline';
  return 'fault';
}

/** Each failure with its kind of drop; the reason of an offline or over-selected client says so. */
export function classifyDrops(failures: readonly RoundFailure[], ending: RoundEnding): DroppedClient[] {
  return failures.map((failure) => {
    const drop = dropReasonOf(failure, ending);
    if (drop === 'offline') return { ...failure, drop, reason: 'offline: its availability trace takes it offline during the round, so its update could not come' };
    if (drop === 'over-selected') return { ...failure, drop, reason: `over-selected: the round had the ${ending.target} updates it wanted before this client's arrived` };
    return { ...failure, drop };
  });
}

/**
 * A failure's kind of drop: the one the server classified it with, or else — a failure
 * no round ending classified, such as an async dispatch given up — by its error kind alone
 * (refused, bug, or fault).
 */
export function dropOf(failure: RoundFailure & { drop?: DropReason }): DropReason {
  return failure.drop ?? dropReasonOf(failure, { targetMet: false, deadlineClosed: false });
}

export function countDrops(dropped: readonly { drop?: DropReason }[]): DropCounts {
  const counts = Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as DropCounts;
  for (const { drop } of dropped) if (drop) counts[drop]++;
  return counts;
}
