/**
 * Why a selected client is not in its round's aggregate, in five kinds a report can count:
 *
 *   refused        it answered the fit with an error (its data, its algorithm, a second fit)
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
 * The kinds are checked in that order, so each drop has exactly one.
 */
import type { RoundFailure } from '../strategies/strategy.js';

export const DROP_REASONS = ['offline', 'deadline', 'over-selected', 'refused', 'fault'] as const;
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

export function countDrops(dropped: readonly { drop?: DropReason }[]): DropCounts {
  const counts: DropCounts = { offline: 0, deadline: 0, 'over-selected': 0, refused: 0, fault: 0 };
  for (const { drop } of dropped) if (drop) counts[drop]++;
  return counts;
}
